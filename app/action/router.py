"""``/api/v1/actions/*`` and ``/api/v1/resources/*``: Twilio actions and queries, behind the bearer token.

Neither opens a database transaction around Twilio: actions touch the database only for an
``Idempotency-Key`` (in short transactions of their own, see ``app.action.idempotency``), and resource
queries not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.action import actions, catalog, idempotency
from app.action.engine import Item, Kind, OperationEngine
from app.action.schemas import (
    ActionResult,
    ApiRequest,
    ApiRequestResult,
    CallPhone,
    ResourceCatalog,
    ResourceItem,
    ResourcePage,
    SendMessage,
)
from app.api.auth import require_token
from app.api.deps import RegistryDep, RuntimeDep
from app.api.schemas import ErrorResponse
from app.runtime import Runtime

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)])
action_router = APIRouter(prefix="/actions", tags=["actions"])
resource_router = APIRouter(prefix="/resources", tags=["resources"])

_ERRORS = {
    401: "Missing, malformed or unknown bearer token",
    404: "No such resource handle (or Twilio has no such object: `twilio_error`)",
    405: "The definition has no such operation for this resource",
    409: "`idempotency_key_reused`: the key came with another request; "
    "`idempotency_key_in_use`: a request with this key is still in flight",
    422: "The request cannot be valid: the message names each problem. Nothing was sent to Twilio",
    502: "Twilio could not be reached, or did not answer in time",
    503: "The database is unavailable (it holds API tokens and idempotency keys), or Twilio's credentials "
    "are not configured",
}
_TWILIO_ERRORS = (
    "Twilio's errors come back with Twilio's HTTP status and "
    '`{"error": {"code": "twilio_error", "message", "twilio_code", "more_info"}}`.'
)


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorResponse, "description": _ERRORS[status]} for status in statuses
    }
    if 502 in statuses:
        # A route that calls Twilio passes Twilio's own 4xx through (400, 403, 404, 429, ...): document
        # the range, or clients generated from the schema reject answers the contract promises.
        responses["4XX"] = {"model": ErrorResponse, "description": _TWILIO_ERRORS}
    return responses


def get_engine(runtime: RuntimeDep) -> OperationEngine:
    return OperationEngine.create(runtime.settings, runtime.registry, runtime.twilio_http)


EngineDep = Annotated[OperationEngine, Depends(get_engine)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID): a repeat with the same key and body gets the first answer "
        "without calling Twilio again (header `Idempotent-Replayed: true`); remembered for 24 hours",
    ),
]


# -- actions ---------------------------------------------------------------------------------------------

_ACTION_NOTES = (
    "With an `Idempotency-Key` header a repeat returns the first answer, status and body, without "
    f"calling Twilio. {_TWILIO_ERRORS}"
)


async def _answer(
    runtime: Runtime,
    key: str | None,
    action: str,
    payload: BaseModel,
    call: Callable[[], Awaitable[tuple[int, Any]]],
) -> Response:
    request_hash = idempotency.fingerprint(action, payload.model_dump(mode="json", by_alias=True))
    outcome = await idempotency.run(runtime.engine, key, request_hash, call)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


@action_router.post(
    "/send_sms",
    status_code=201,
    response_model=ActionResult,
    summary="Send an SMS or MMS",
    description="Runs the definition's `messages.create`. " + _ACTION_NOTES,
    responses=_responses(401, 409, 422, 502, 503),
)
async def send_sms(
    payload: SendMessage, engine: EngineDep, runtime: RuntimeDep, key: IdempotencyKey = None
) -> Response:
    callbacks = actions.StatusCallbacks.from_settings(runtime.settings, runtime.registry)
    prepared = actions.prepare_message(engine, payload, callbacks)
    return await _answer(runtime, key, "send_sms", payload, lambda: actions.send(engine, prepared))


@action_router.post(
    "/send_whatsapp",
    status_code=201,
    response_model=ActionResult,
    summary="Send a WhatsApp message",
    description="As `send_sms`, with `whatsapp:` added to `to` and `from` where missing. " + _ACTION_NOTES,
    responses=_responses(401, 409, 422, 502, 503),
)
async def send_whatsapp(
    payload: SendMessage, engine: EngineDep, runtime: RuntimeDep, key: IdempotencyKey = None
) -> Response:
    callbacks = actions.StatusCallbacks.from_settings(runtime.settings, runtime.registry)
    prepared = actions.prepare_message(engine, payload, callbacks, whatsapp=True)
    return await _answer(runtime, key, "send_whatsapp", payload, lambda: actions.send(engine, prepared))


@action_router.post(
    "/call_phone",
    status_code=201,
    response_model=ActionResult,
    summary="Place a phone call",
    description="Runs the definition's `calls.create`. " + _ACTION_NOTES,
    responses=_responses(401, 409, 422, 502, 503),
)
async def call_phone(
    payload: CallPhone, engine: EngineDep, runtime: RuntimeDep, key: IdempotencyKey = None
) -> Response:
    callbacks = actions.StatusCallbacks.from_settings(runtime.settings, runtime.registry)
    prepared = actions.prepare_call(engine, payload, callbacks)
    return await _answer(runtime, key, "call_phone", payload, lambda: actions.send(engine, prepared))


@action_router.post(
    "/api_request",
    status_code=200,
    response_model=ApiRequestResult,
    summary="Send any 2010-04-01 request",
    description="`path` is relative to `/2010-04-01/Accounts/{AccountSid}` and ends in `.json`. A successful "
    "answer is 200 with Twilio's status and JSON. " + _ACTION_NOTES,
    responses=_responses(401, 409, 422, 502, 503),
)
async def api_request(
    payload: ApiRequest, engine: EngineDep, runtime: RuntimeDep, key: IdempotencyKey = None
) -> Response:
    request = actions.prepare_api_request(engine, payload)
    return await _answer(
        runtime, key, "api_request", payload, lambda: actions.send_api_request(engine, request)
    )


# -- resources -------------------------------------------------------------------------------------------

Handle = Annotated[str, Path(max_length=64, examples=["messages"])]
Sid = Annotated[str, Path(min_length=1, max_length=128, examples=["SM0123456789abcdef0123456789abcdef"])]
Values = Annotated[
    dict[str, Any] | None,
    Body(
        description="Placeholder values by name (GET /api/v1/resources lists each operation's), including "
        "parent path placeholders such as `conference_sid`",
        examples=[{"friendly_name": "Support"}],
    ),
]
_QUERY_NOTE = (
    "Query parameters are the operation's placeholders by name (`GET /api/v1/resources` lists them), "
    "including parent path placeholders such as `conference_sid` or `country_code`; a repeated parameter "
    "is a list."
)


def _query_values(request: Request, *, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in request.query_params:
        if name not in skip:
            given = request.query_params.getlist(name)
            values[name] = given if len(given) > 1 else given[0]
    return values


def _item(item: Item | None) -> ResourceItem:
    assert item is not None  # only deletes answer nothing
    return ResourceItem(data=item.data, raw=item.raw)


@resource_router.get(
    "",
    response_model=ResourceCatalog,
    summary="List the resources and their operations",
    description="Every resource of the Twilio connector definition, its fields, and the operations it "
    "provides with their parameters. All in one page: `next_cursor` is always null.",
    responses=_responses(401, 503),
)
async def list_resources(registry: RegistryDep) -> ResourceCatalog:
    return catalog.catalog(registry)


@resource_router.get(
    "/{handle}",
    response_model=ResourcePage,
    summary="List a resource (one page)",
    description=f"{_QUERY_NOTE} Pass `next_cursor` back as `cursor` for the next page; the cursor "
    f"carries the first page's filters and `page_size`, so other parameters are ignored with it. "
    f"{_TWILIO_ERRORS}",
    responses=_responses(401, 404, 405, 422, 502, 503),
)
async def list_items(
    handle: Handle,
    request: Request,
    engine: EngineDep,
    page_size: Annotated[
        int | None, Query(ge=1, le=1000, description="Twilio's PageSize (default 50)")
    ] = None,
    limit: Annotated[
        int | None,
        Query(ge=1, le=1000, description="Another name for `page_size`, as in the API's other lists"),
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=4096, description="`next_cursor` of the previous page")
    ] = None,
) -> ResourcePage:
    values = _query_values(request, skip=frozenset({"cursor", "limit"}))
    if limit is not None:
        values.setdefault("page_size", limit)
    page = await engine.list(handle, values, cursor)
    return ResourcePage(
        items=[ResourceItem(data=i.data, raw=i.raw) for i in page.items], next_cursor=page.next_cursor
    )


@resource_router.get(
    "/{handle}/{sid}",
    response_model=ResourceItem,
    summary="Read one object",
    description=f"{_QUERY_NOTE} {_TWILIO_ERRORS}",
    responses=_responses(401, 404, 405, 422, 502, 503),
)
async def read_item(handle: Handle, sid: Sid, request: Request, engine: EngineDep) -> ResourceItem:
    values = {**_query_values(request), "sid": sid}
    return _item(await engine.run(handle, Kind.READ, values))


@resource_router.post(
    "/{handle}",
    status_code=201,
    response_model=ResourceItem,
    summary="Create an object",
    description=f"The JSON body holds the operation's placeholders by name. {_TWILIO_ERRORS}",
    responses=_responses(401, 404, 405, 422, 502, 503),
)
async def create_item(handle: Handle, engine: EngineDep, values: Values = None) -> ResourceItem:
    return _item(await engine.run(handle, Kind.CREATE, values or {}))


@resource_router.post(
    "/{handle}/{sid}",
    response_model=ResourceItem,
    summary="Update an object",
    description=f"The JSON body holds the operation's placeholders by name. {_TWILIO_ERRORS}",
    responses=_responses(401, 404, 405, 422, 502, 503),
)
async def update_item(handle: Handle, sid: Sid, engine: EngineDep, values: Values = None) -> ResourceItem:
    return _item(await engine.run(handle, Kind.UPDATE, {**(values or {}), "sid": sid}))


@resource_router.delete(
    "/{handle}/{sid}",
    status_code=204,
    response_class=Response,
    summary="Delete an object",
    description=f"{_QUERY_NOTE} {_TWILIO_ERRORS}",
    responses=_responses(401, 404, 405, 422, 502, 503),
)
async def delete_item(handle: Handle, sid: Sid, request: Request, engine: EngineDep) -> Response:
    await engine.run(handle, Kind.DELETE, {**_query_values(request), "sid": sid})
    return Response(status_code=204)


router.include_router(action_router)
router.include_router(resource_router)
