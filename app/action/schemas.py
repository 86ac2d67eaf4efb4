"""Request and response bodies of ``/api/v1/actions`` and ``/api/v1/resources``.

Which of ``from`` / ``messaging_service_sid``, ``body`` / ``media_urls`` or ``url`` / ``twiml`` must be
given is not repeated here: the definition's ``oneOf`` groups decide, in the engine, before any call.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.api.schemas import Page

Scalar = str | int | float | bool


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SendMessage(_Body):
    """An SMS/MMS (or WhatsApp) message. Give ``from`` or ``messaging_service_sid``, and ``body`` or
    ``media_urls``."""

    to: str = Field(min_length=1, description="The recipient, E.164", examples=["+15005550006"])
    from_: str | None = Field(
        None,
        alias="from",
        min_length=1,
        description="Your Twilio number or sender ID",
        examples=["+15017122661"],
    )
    messaging_service_sid: str | None = Field(
        None, min_length=1, examples=["MG0123456789abcdef0123456789abcdef"]
    )
    body: str | None = Field(None, description="The text (Twilio allows up to 1600 characters)")
    media_urls: list[str] | None = Field(
        None,
        description="Public URLs of media to attach (Twilio allows up to 10)",
        examples=[["https://example.com/a.jpg"]],
    )
    status_callback: str | None = Field(
        None,
        min_length=1,
        description="Where Twilio reports the message's status; default: Switchboard's own "
        "/webhooks/twilio/messages/status when SWITCHBOARD_PUBLIC_URL is set",
    )


class CallPhone(_Body):
    """An outbound call. Give ``url`` (where to fetch TwiML) or ``twiml`` (the TwiML itself), not both."""

    to: str = Field(min_length=1, examples=["+15005550006"])
    from_: str = Field(alias="from", min_length=1, examples=["+15017122661"])
    url: str | None = Field(None, min_length=1, examples=["https://example.com/twiml"])
    twiml: str | None = Field(None, min_length=1, examples=["<Response><Say>Hello</Say></Response>"])
    status_callback: str | None = Field(
        None,
        min_length=1,
        description="Where Twilio reports the call's progress; default: Switchboard's own "
        "/webhooks/twilio/calls/status (with every progress event) when SWITCHBOARD_PUBLIC_URL is set",
    )

    @model_validator(mode="after")
    def _not_both(self) -> CallPhone:
        if self.url is not None and self.twiml is not None:
            raise ValueError("give url or twiml, not both (Twilio would ignore one of them)")
        return self


class ApiRequest(_Body):
    """Any 2010-04-01 call below the configured account."""

    method: Literal["GET", "POST", "DELETE"] = Field(examples=["GET"])
    path: str = Field(
        min_length=2,
        max_length=2000,
        description="Relative to /2010-04-01/Accounts/{AccountSid}; ends in .json",
        examples=["/Messages.json"],
    )
    params: dict[str, Scalar | list[Scalar] | None] | None = Field(
        None,
        description="Twilio's parameter names: the query for GET and DELETE, the form body for POST; "
        "a list repeats its key",
        examples=[{"PageSize": 20}],
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class ActionResult(BaseModel):
    """The resource Twilio created, mapped through the definition's fields, and Twilio's JSON."""

    data: dict[str, Any] = Field(description="The resource's fields, named as in the connector definition")
    raw: dict[str, Any] = Field(description="Twilio's JSON answer, every key as received")


class ApiRequestResult(BaseModel):
    status: int = Field(description="Twilio's HTTP status", examples=[200])
    raw: Any = Field(description="Twilio's JSON answer (null when it had no body, e.g. 204 on delete)")


# -- resources -------------------------------------------------------------------------------------------


class ResourceItem(BaseModel):
    data: dict[str, Any] = Field(description="The resource's fields, named as in the connector definition")
    raw: dict[str, Any] = Field(description="Twilio's JSON for this resource, every key as received")


class ResourcePage(Page[ResourceItem]):
    """One page of a Twilio list, in Twilio's order; ``next_cursor`` follows Twilio's ``next_page_uri``."""


class ParameterRead(BaseModel):
    name: str = Field(description="The placeholder name to send", examples=["media_urls"])
    type: str = Field(examples=["Array"])
    required: bool
    location: Literal["path", "query", "body"] = Field(
        description="path/query: a query parameter of our route (or its {sid}); body: a key of the JSON body"
    )
    twilio_name: str | None = Field(description="Twilio's own parameter name", examples=["MediaUrl"])
    description: str | None


class OperationRead(BaseModel):
    name: Literal["list", "read", "create", "update", "delete"]
    method: str = Field(description="The method of our route", examples=["POST"])
    path: str = Field(description="Our route", examples=["/api/v1/resources/messages"])
    twilio_method: str = Field(examples=["POST"])
    twilio_path: str = Field(examples=["/Accounts/{{AccountSid}}/Messages.json"])
    parameters: list[ParameterRead]
    one_of: list[list[str]] = Field(description="Groups of parameters of which at least one must be given")


class FieldRead(BaseModel):
    name: str
    type: str
    description: str | None


class ResourceRead(BaseModel):
    handle: str = Field(examples=["messages"])
    connector: str = Field(examples=["twilio"])
    description: str | None
    fields: list[FieldRead]
    operations: list[OperationRead] = Field(description="Only the operations the definition provides")


class ResourceCatalog(Page[ResourceRead]):
    """Every resource, in one page: ``next_cursor`` is always null."""


class ResourceValues(BaseModel):
    """The placeholder values of a create or update, by name (see ``GET /api/v1/resources``)."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"examples": [{"to": "+15005550006", "body": "Hi"}]}
    )
