"""The connector definition format as Pydantic models (``XDef``): what a file under ``connectors/`` may say.

The format follows the seed document (service, resources with fields, operations and webhooks) with the
corrections Twilio's real API needs:

- operation paths are complete below ``service.baseURL`` (``/Accounts/{{AccountSid}}/Messages/{{sid}}.json``),
  never fragments glued onto ``endpoint``;
- ``bodyTemplate`` / ``queryParams`` map Twilio's own parameter names to placeholders and are sent
  form-encoded (a list placeholder becomes a repeated key), never as a JSON string;
- a webhook declares its ``dedupeKey`` (selectors whose values identify one event).

Everything is ``extra="forbid"`` so a typo in a definition is an error with a JSON path, not silence.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

# Placeholders filled from the configured credentials, never from a caller.
CREDENTIAL_PLACEHOLDERS = frozenset({"AccountSid", "AuthToken"})

Selector = Annotated[list[str | int], Field(min_length=1)]


class _Def(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    OBJECT = "object"
    ARRAY = "array"


class PlaceholderType(StrEnum):
    STRING = "String"
    INTEGER = "Integer"
    NUMBER = "Number"
    BOOLEAN = "Boolean"
    ARRAY = "Array"


class MetaDef(_Def):
    short: str | None = None
    description: str | None = None
    icon: str | None = None
    tags: list[str] = []


class FieldDef(_Def):
    """A named value picked out of a payload by walking ``selector`` (keys, or indexes into lists)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: FieldType = FieldType.STRING
    selector: Selector
    meta: MetaDef = MetaDef()


class PlaceholderDef(_Def):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: PlaceholderType = PlaceholderType.STRING
    description: str | None = None
    required: bool = False
    default: str | int | float | bool | None = None


class TemplateString(_Def):
    """A string with ``{{placeholders}}`` (a base URL, a path, a credential)."""

    value: str
    placeholders: list[PlaceholderDef] = []

    def names(self) -> list[str]:
        return PLACEHOLDER.findall(self.value)


class ParamsTemplate(_Def):
    """Twilio parameter names mapped to a literal or a ``{{placeholder}}``; sent as form or query fields.

    A placeholder that is absent or ``null`` drops its parameter; a list repeats the key (``MediaUrl``).
    ``oneOf`` lists groups of placeholders of which at least one must be given (Twilio's
    ``x-twilio.conditional``: ``From`` or ``MessagingServiceSid``; ``Body`` or ``MediaUrl``).
    """

    value: dict[str, str] = {}
    placeholders: list[PlaceholderDef] = []
    one_of: list[list[str]] = Field(default=[], alias="oneOf")

    def names(self) -> list[str]:
        return [name for template in self.value.values() for name in PLACEHOLDER.findall(template)]


class OperationDef(_Def):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: TemplateString
    headers: dict[str, TemplateString] = {}
    query_params: ParamsTemplate | None = Field(default=None, alias="queryParams")
    body_template: ParamsTemplate | None = Field(default=None, alias="bodyTemplate")

    @field_validator("path")
    @classmethod
    def _path_is_absolute(cls, path: TemplateString) -> TemplateString:
        if not path.value.startswith("/"):
            raise ValueError("an operation path starts with '/' and is complete below service.baseURL")
        return path

    @model_validator(mode="after")
    def _placeholders_declared(self) -> OperationDef:
        for where, template in (("queryParams", self.query_params), ("bodyTemplate", self.body_template)):
            if template is None:
                continue
            declared = {p.name for p in template.placeholders}
            missing = sorted(set(template.names()) - declared - CREDENTIAL_PLACEHOLDERS)
            if missing:
                raise ValueError(f"{where} uses undeclared placeholders: {', '.join(missing)}")
            unknown = sorted({n for group in template.one_of for n in group} - declared)
            if unknown:
                raise ValueError(f"{where}.oneOf names undeclared placeholders: {', '.join(unknown)}")
        path_declared = {p.name for p in self.path.placeholders}
        missing = sorted(set(self.path.names()) - path_declared - CREDENTIAL_PLACEHOLDERS)
        if missing:
            raise ValueError(f"path uses undeclared placeholders: {', '.join(missing)}")
        return self


class OperationsDef(_Def):
    list: OperationDef | None = None
    read: OperationDef | None = None
    create: OperationDef | None = None
    update: OperationDef | None = None
    delete: OperationDef | None = None


class WebhookDef(_Def):
    """An inbound event: Twilio POSTs to ``path``; the event type is ``{resource handle}/{event}``."""

    event: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    path: str = Field(pattern=r"^/[A-Za-z0-9_\-/.]*$")
    description: str | None = None
    dedupe_key: list[Selector] = Field(default=[], alias="dedupeKey")
    payload: list[FieldDef]

    @field_validator("payload")
    @classmethod
    def _unique_names(cls, payload: list[FieldDef]) -> list[FieldDef]:
        _require_unique([f.name for f in payload], "payload field")
        return payload


class ResourceDef(_Def):
    handle: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    meta: MetaDef = MetaDef()
    endpoint: TemplateString
    list_key: str | None = Field(default=None, alias="listKey")
    fields: list[FieldDef]
    operations: OperationsDef = OperationsDef()
    webhooks: list[WebhookDef] = []

    @field_validator("fields")
    @classmethod
    def _unique_names(cls, fields: list[FieldDef]) -> list[FieldDef]:
        _require_unique([f.name for f in fields], "field")
        return fields

    @model_validator(mode="after")
    def _list_has_key(self) -> ResourceDef:
        if self.operations.list is not None and not self.list_key:
            raise ValueError(
                "a resource with a list operation names its listKey (the array in Twilio's page)"
            )
        return self


class BasicAuthDef(_Def):
    username: TemplateString
    password: TemplateString


class AuthParamsDef(_Def):
    basic: BasicAuthDef


class AuthDef(_Def):
    method: Literal["basic"]
    params: AuthParamsDef


class ServiceDef(_Def):
    base_url: TemplateString = Field(alias="baseURL")
    protocol: Literal["https", "http"] = "https"
    content_type: Literal["application/x-www-form-urlencoded"] = Field(alias="contentType")
    headers: dict[str, TemplateString] = {}
    auth: AuthDef


class ConnectorDef(_Def):
    handle: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    status: Literal["active", "inactive"] = "active"
    meta: MetaDef = MetaDef()
    service: ServiceDef
    resources: list[ResourceDef]

    @field_validator("resources")
    @classmethod
    def _unique_handles(cls, resources: list[ResourceDef]) -> list[ResourceDef]:
        _require_unique([r.handle for r in resources], "resource handle")
        paths = [w.path for r in resources for w in r.webhooks]
        _require_unique(paths, "webhook path")
        return resources


def _require_unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {what} {name!r}")
        seen.add(name)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a definition file (exported to ``connectors/schema.json``)."""
    return ConnectorDef.model_json_schema(by_alias=True)
