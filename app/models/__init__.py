"""Tables, one module each; importing this package registers them all on ``metadata``."""

from app.models.api_token import api_tokens
from app.models.base import metadata
from app.models.delivery import deliveries, delivery_attempts
from app.models.event import events
from app.models.idempotency_key import idempotency_keys
from app.models.number_connection import number_connections
from app.models.subscription import subscriptions

__all__ = [
    "api_tokens",
    "deliveries",
    "delivery_attempts",
    "events",
    "idempotency_keys",
    "metadata",
    "number_connections",
    "subscriptions",
]
