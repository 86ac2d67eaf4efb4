"""Response and request bodies of the events API: the event is the envelope of contract section 4."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas import Page, Timestamp


class EventRead(BaseModel):
    """The event exactly as it is forwarded to subscriptions."""

    id: str = Field(examples=["evt_01jf3k5v9q0000000000000000"])
    type: str = Field(examples=["messages/message_received"])
    connector: str = Field(examples=["twilio"])
    account_sid: str | None
    received_at: Timestamp
    signature_valid: bool
    data: dict[str, Any] = Field(description="The webhook's payload fields, mapped by the definition")
    raw: dict[str, Any] = Field(description="Every parameter Twilio sent, as received")


class EventList(Page[EventRead]):
    pass


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscription_id: str | None = Field(
        None,
        max_length=64,
        description="Replay to this subscription only; omit for every enabled subscription that matches",
    )


class ReplayResult(BaseModel):
    deliveries: list[str] = Field(description="Ids of the new pending deliveries (possibly none)")
