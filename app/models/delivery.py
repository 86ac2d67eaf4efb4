"""The outbox: ``deliveries`` (one per event × subscription) and ``delivery_attempts`` (one per try)."""

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, text

from app.models.base import UTCDateTime, metadata

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("event_id", String(40), ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True),
    Column(
        "subscription_id",
        String(40),
        ForeignKey("subscriptions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("status", String(16), nullable=False),
    Column("attempt_count", Integer, nullable=False),
    # attempt_count when the current retry schedule began: a manual retry restarts the schedule
    # while attempt numbers keep counting up (they are unique per delivery).
    Column("schedule_start", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    # A claimed delivery belongs to one worker until its lease runs out (then anyone may take it over).
    Column("locked_until", UTCDateTime, nullable=True),
    Column("locked_by", String(64), nullable=True),
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Only pending rows are ever claimed: a partial index keeps the claim query small as history grows.
    Index(
        "ix_deliveries_due",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
        sqlite_where=text("status = 'pending'"),
    ),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column(
        "delivery_id",
        String(40),
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("number", Integer, nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("response_excerpt", Text, nullable=True),
    # Attempt n of a delivery can be recorded once: two workers can never both make the same attempt.
    UniqueConstraint("delivery_id", "number"),
)
