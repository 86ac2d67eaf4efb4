"""Request and response bodies of the subscriptions API."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.api.schemas import Page, Timestamp

EventTypes = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=120)]],
    Field(
        min_length=1,
        max_length=100,
        description="Event types to receive, as `GET /api/v1/triggers` lists them",
        examples=[["messages/message_received"]],
    ),
]
CallbackURL = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        description="Where deliveries are POSTed (http or https; no loopback, private, link-local or "
        "metadata address unless SWITCHBOARD_ALLOW_PRIVATE_CALLBACKS)",
        examples=["https://automations.example.com/hooks/sms"],
    ),
]
FilterJSON = Annotated[
    dict[str, Any] | None,
    Field(
        description="Only events whose envelope matches are delivered: dotted paths to literals or "
        "operator objects ($eq $neq $in $nin $startsWith $endsWith $contains $exists $gt $gte $lt $lte), "
        "combined with $and/$or/$not. null or {} matches every event.",
        examples=[{"data.body": {"$startsWith": "STOP"}}],
    ),
]
Description = Annotated[str | None, Field(max_length=1000)]


class SubscriptionCreate(BaseModel):
    # Unknown keys are refused: a misspelt "filters" must not silently subscribe to everything.
    model_config = ConfigDict(extra="forbid")

    events: EventTypes
    url: CallbackURL
    filter: FilterJSON = None
    description: Description = None
    enabled: bool = True


_NOT_NULL = ("events", "url", "enabled")


def _drop_null_from_schema(schema: dict[str, Any]) -> None:
    # The fields are optional but not nullable; Python's `X | None` would advertise null in OpenAPI.
    for name in _NOT_NULL:
        prop = schema["properties"][name]
        [option] = [option for option in prop.pop("anyOf") if option.get("type") != "null"]
        prop.update(option)


class SubscriptionUpdate(BaseModel):
    """A partial update: only the fields sent change. ``filter`` and ``description`` may be set to null."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null_from_schema)

    events: EventTypes | None = None
    url: CallbackURL | None = None
    filter: FilterJSON = None
    description: Description = None
    enabled: bool | None = None

    @field_validator(*_NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Runs only for values sent: an absent field keeps its None default, meaning "unchanged".
        if value is None:
            raise ValueError("may not be null (omit the field to leave it unchanged)")
        return value


class SubscriptionRead(BaseModel):
    id: str = Field(examples=["sub_01jf3k5v9q0000000000000000"])
    events: list[str]
    url: str
    filter: dict[str, Any] | None
    description: str | None
    enabled: bool
    created_at: Timestamp
    updated_at: Timestamp
    previous_secret_expires_at: Timestamp | None = Field(
        description="While a rotation is under way: when the previous secret stops signing; else null"
    )


class SubscriptionWithSecret(SubscriptionRead):
    secret: str = Field(
        description="Standard Webhooks signing secret. Returned only when created or rotated: store it.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class SubscriptionList(Page[SubscriptionRead]):
    pass
