"""The ``number_connections`` table: a Twilio number's own webhook settings, kept while Switchboard owns them.

``switchboard numbers connect`` saves the number's previous SMS, voice and status-callback settings here
before it points them at Switchboard; ``disconnect`` writes exactly these values back and deletes the row.
"""

from sqlalchemy import Column, String, Table, Text

from app.models.base import UTCDateTime, metadata

number_connections = Table(
    "number_connections",
    metadata,
    Column("account_sid", String(64), primary_key=True),
    Column("phone_number", String(64), primary_key=True),
    Column("number_sid", String(64), nullable=False),
    # Twilio's values before `connect`, as its JSON had them (null and "" both mean "not set").
    Column("sms_url", Text, nullable=True),
    Column("sms_method", String(16), nullable=True),
    Column("voice_url", Text, nullable=True),
    Column("voice_method", String(16), nullable=True),
    Column("status_callback", Text, nullable=True),
    Column("status_callback_method", String(16), nullable=True),
    Column("connected_at", UTCDateTime, nullable=False),
)
