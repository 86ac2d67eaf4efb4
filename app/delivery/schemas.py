"""Response bodies of the deliveries API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.api.schemas import Page, Timestamp
from app.delivery.repository import DeliveryStatus


class AttemptRead(BaseModel):
    number: int = Field(description="1 for the first attempt; keeps counting across manual retries")
    attempted_at: Timestamp
    status_code: int | None = Field(description="The callback's HTTP status; null if none was received")
    duration_ms: int
    error: str | None = Field(description="Why the attempt failed (timeout, refused, non-2xx, ...)")
    response_excerpt: str | None = Field(description="The start of the callback's response body")


class DeliveryRead(BaseModel):
    id: str = Field(
        examples=["dlv_01jf3k5v9q0000000000000000"],
        description="Also the `webhook-id` header, the same on every attempt",
    )
    event_id: str
    subscription_id: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: Timestamp | None = Field(description="When the next attempt is due; null unless pending")
    last_attempt_at: Timestamp | None
    last_status_code: int | None
    last_error: str | None
    created_at: Timestamp
    updated_at: Timestamp


class DeliveryDetail(DeliveryRead):
    attempts: list[AttemptRead] = Field(description="Every attempt, oldest first")


class DeliveryList(Page[DeliveryRead]):
    pass
