"""The ``idempotency_keys`` table: the first answer to each action request sent with an ``Idempotency-Key``.

A row is inserted as a *pending* marker (``status_code`` null) before Twilio is called, in its own short
transaction; the primary key makes that insert the lock, so of two concurrent requests with one key
exactly one gets to call Twilio. The row is completed with the answer once Twilio has answered.
"""

from sqlalchemy import JSON, Column, Integer, String, Table

from app.models.base import UTCDateTime, metadata

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    # SHA-256 of the action's name and its validated body: the same key with another request is a 409.
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),  # null while the first request is still in flight
    # JSON, not JSONB: PostgreSQL keeps the text as written, so a replay is byte for byte the first
    # answer (JSONB would reorder its keys).
    Column("response_body", JSON, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)
