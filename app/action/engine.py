"""The operation engine: any resource operation of the Twilio definition, run generically.

``resource handle + operation + placeholder values`` → the definition's operation → a rendered request
(``app.action.template``) → Twilio (``app.action.client``) → the answer mapped through the resource's
``fields``, with ``raw`` keeping Twilio's JSON. Lists come one page at a time with a cursor that follows
Twilio's ``next_page_uri`` (``app.action.cursor``). Nothing here knows FastAPI; the CLI uses it too.

Where requests go: the definition's ``service.baseURL`` (``https://api.twilio.com/2010-04-01``) with its
origin replaced by ``TWILIO_API_BASE_URL``; its path (``/2010-04-01``) is kept.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from app.action import cursor as cursor_codec
from app.action.client import Sleep, TwilioClient, TwilioResponse, TwilioUnreachable
from app.action.retry import RetryPolicy
from app.action.template import RenderedRequest, render, render_text
from app.config import Settings
from app.connector.mapping import map_fields
from app.connector.registry import Registry
from app.connector.schema import CREDENTIAL_PLACEHOLDERS, PLACEHOLDER, ConnectorDef, OperationDef, ResourceDef
from app.errors import MethodNotAllowed, NotFound, ServiceUnavailable

TWILIO = "twilio"  # the connector whose operations run with TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN


class Kind(StrEnum):
    LIST = "list"
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Operation:
    resource: ResourceDef
    kind: Kind
    definition: OperationDef

    @property
    def name(self) -> str:
        return f"{self.resource.handle}.{self.kind.value}"


@dataclass(frozen=True, slots=True)
class Prepared:
    """An operation rendered and checked, not yet sent: every 422 has happened by now."""

    operation: Operation
    request: RenderedRequest


@dataclass(frozen=True, slots=True)
class Item:
    data: dict[str, Any]
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ItemPage:
    items: list[Item]
    next_cursor: str | None


class OperationEngine:
    def __init__(self, connector: ConnectorDef, client: TwilioClient, *, api_origin: str, account_sid: str):
        self.connector = connector
        self._client = client
        self._credentials = {"AccountSid": account_sid}
        self._origin = api_origin.rstrip("/")
        # The definition's base path (/2010-04-01) below our origin, which may itself carry a path prefix.
        self._base_path = urlsplit(render_text(connector.service.base_url, self._credentials)).path.rstrip(
            "/"
        )
        self._resources = {resource.handle: resource for resource in connector.resources}

    @classmethod
    def create(
        cls,
        settings: Settings,
        registry: Registry,
        http: httpx.AsyncClient,
        *,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> OperationEngine:
        """The engine for the configured account; ServiceUnavailable naming what is missing."""
        connector = registry.connectors.get(TWILIO)
        if connector is None:
            raise ServiceUnavailable(
                f"no active {TWILIO!r} connector definition is loaded (check SWITCHBOARD_CONNECTORS_PATH)",
                code="twilio_not_configured",
            )
        if not settings.twilio_account_sid or settings.twilio_auth_token is None:
            raise ServiceUnavailable(
                "Twilio credentials are not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
                code="twilio_not_configured",
            )
        # Templates get the account SID only; the token travels in the Authorization header alone.
        credentials = {"AccountSid": settings.twilio_account_sid}
        headers = {name: render_text(value, credentials) for name, value in connector.service.headers.items()}
        client = TwilioClient(
            http,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            headers=headers,
            policy=policy,
            sleep=sleep,
        )
        return cls(
            connector, client, api_origin=settings.twilio_api_base_url, account_sid=credentials["AccountSid"]
        )

    @property
    def account_sid(self) -> str:
        return self._credentials["AccountSid"]

    # -- resolving -------------------------------------------------------------------------------------

    @property
    def resources(self) -> list[ResourceDef]:
        return list(self._resources.values())

    def resource(self, handle: str) -> ResourceDef:
        resource = self._resources.get(handle)
        if resource is None:
            raise NotFound(f"no resource {handle!r}; GET /api/v1/resources lists them")
        return resource

    def operation(self, handle: str, kind: Kind) -> Operation:
        resource = self.resource(handle)
        definition: OperationDef | None = getattr(resource.operations, kind.value)
        if definition is None:
            available = [k.value for k in Kind if getattr(resource.operations, k.value) is not None]
            raise MethodNotAllowed(
                f"{handle} has no {kind.value} operation (it has: {', '.join(available) or 'none'})"
            )
        return Operation(resource, kind, definition)

    # -- running ---------------------------------------------------------------------------------------

    def prepare(self, handle: str, kind: Kind, values: Mapping[str, Any]) -> Prepared:
        operation = self.operation(handle, kind)
        request = render(operation.definition, values, self._credentials, operation=operation.name)
        return Prepared(operation, request)

    async def execute(self, prepared: Prepared) -> Item | None:
        """Send a prepared read/create/update/delete; the mapped resource, or None for a delete."""
        response = await self.send(prepared.request)
        if prepared.operation.kind is Kind.DELETE:
            return None
        return self._item(prepared.operation.resource, response.body)

    async def run(self, handle: str, kind: Kind, values: Mapping[str, Any]) -> Item | None:
        return await self.execute(self.prepare(handle, kind, values))

    async def list(self, handle: str, values: Mapping[str, Any], cursor: str | None = None) -> ItemPage:
        """One page. With a cursor, Twilio's ``next_page_uri`` is followed as is: it carries the first
        page's filters and page size, so ``values`` are not used."""
        if cursor is not None:
            operation = self.operation(handle, Kind.LIST)
            uri = cursor_codec.decode(cursor, self._path_pattern(operation.definition))
            response = await self._client.send("GET", self._origin + uri)
        else:
            prepared = self.prepare(handle, Kind.LIST, values)
            operation = prepared.operation
            response = await self.send(prepared.request)
        return self._page(operation.resource, response)

    async def send(self, request: RenderedRequest) -> TwilioResponse:
        """Any rendered request, below the API base URL (``api_request`` uses this directly)."""
        return await self._client.send(
            request.method,
            self._url(request.path),
            query=request.query,
            form=request.form,
            headers=request.headers,
        )

    def _url(self, path: str) -> str:
        return f"{self._origin}{self._base_path}{path}"

    # -- mapping answers -------------------------------------------------------------------------------

    def _item(self, resource: ResourceDef, body: Any) -> Item:
        if not isinstance(body, dict):
            raise TwilioUnreachable(
                f"Twilio answered {resource.handle} without a JSON object", request_sent=True
            )
        return Item(map_fields(body, resource.fields), body)

    def _page(self, resource: ResourceDef, response: TwilioResponse) -> ItemPage:
        body = response.body
        key = resource.list_key or resource.handle
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            raise TwilioUnreachable(f"Twilio's {resource.handle} page has no {key!r} list", request_sent=True)
        items = [self._item(resource, raw) for raw in body[key]]
        next_uri = body.get("next_page_uri")
        if isinstance(next_uri, str) and next_uri:
            parts = urlsplit(next_uri)  # relative in 2010-04-01; keep only path and query if not
            relative = parts.path + (f"?{parts.query}" if parts.query else "")
            return ItemPage(items, cursor_codec.encode(relative))
        return ItemPage(items, None)

    def _path_pattern(self, op: OperationDef) -> re.Pattern[str]:
        """The list's path as Twilio writes it in ``next_page_uri``; any value for caller placeholders."""
        parts: list[str] = []
        position = 0
        template = op.path.value
        for match in PLACEHOLDER.finditer(template):
            parts.append(re.escape(template[position : match.start()]))
            name = match.group(1)
            if name in CREDENTIAL_PLACEHOLDERS:
                parts.append(re.escape(quote(self._credentials.get(name, ""), safe="")))
            else:
                parts.append(r"[^/]+")
            position = match.end()
        parts.append(re.escape(template[position:]))
        return re.compile(re.escape(self._base_path) + "".join(parts))
