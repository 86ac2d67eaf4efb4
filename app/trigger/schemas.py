"""Response bodies of the triggers API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.api.schemas import Page


class TriggerField(BaseModel):
    name: str = Field(description="The key under the event's `data`", examples=["body"])
    type: str = Field(examples=["string"])
    description: str | None


class TriggerRead(BaseModel):
    event: str = Field(description="The event type to subscribe to", examples=["messages/message_received"])
    connector: str = Field(examples=["twilio"])
    path: str = Field(description="The webhook route Twilio calls", examples=["/webhooks/twilio/messages"])
    description: str | None
    fields: list[TriggerField]


class TriggerList(Page[TriggerRead]):
    pass
