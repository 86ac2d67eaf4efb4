"""The ``events`` table: every accepted webhook, once per (type, dedupe key)."""

from sqlalchemy import Boolean, Column, Index, String, Table, Text, UniqueConstraint

from app.models.base import JSONType, UTCDateTime, metadata

events = Table(
    "events",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("type", String(120), nullable=False),
    Column("connector", String(64), nullable=False),
    Column("account_sid", String(64), nullable=True),
    Column("dedupe_key", Text, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("signature_valid", Boolean, nullable=False),
    Column("data", JSONType, nullable=False),
    Column("raw", JSONType, nullable=False),
    # The idempotency guarantee lives here, not in application code: a Twilio retry cannot store twice.
    UniqueConstraint("type", "dedupe_key"),
    Index(None, "type", "id"),
    Index(None, "received_at"),
)
