"""The ``subscriptions`` table: automations' callback URLs, the events they want and their secrets."""

from sqlalchemy import Boolean, Column, String, Table, Text

from app.models.base import JSONType, UTCDateTime, metadata

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("url", Text, nullable=False),
    Column("events", JSONType, nullable=False),
    Column("filter", JSONType, nullable=True),
    Column("description", Text, nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("secret", String(128), nullable=False),
    # During a rotation the previous secret keeps signing alongside the new one until it expires.
    Column("previous_secret", String(128), nullable=True),
    Column("previous_secret_expires_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
