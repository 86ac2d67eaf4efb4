"""The ASGI application: one request through the fake, in the order Twilio's edge would treat it.

Owns the HTTP pipeline: record the request, fire an injected fault, route against the spec (404/405),
authenticate (401), check the content type (415) and the parameters (400), check the path's account
belongs to the caller (401), then hand over to the handlers and render Twilio's JSON. Every rejection
the spec implies is also recorded as a `Violation`; authentication failures and magic-number errors are
not, because a correct request can get those.
"""

import asyncio
import json
import logging
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from . import errors
from .auth import Authenticator
from .errors import TwilioError
from .faults import Fault, Faults
from .handlers import Call, Handlers
from .journal import Journal, RecordedRequest, Violation
from .params import Params, parse_pairs
from .spec import MethodNotAllowed, RouteMatch, Spec, UnknownPath
from .validation import validate

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
logger = logging.getLogger(__name__)


class SpecViolation(TwilioError):
    """A rejection the spec implies (as opposed to one a valid request can also get)."""

    def __init__(self, error: TwilioError, problems: list[str]) -> None:
        super().__init__(error.status, error.code, error.message, error.headers)
        self.problems = problems


class FakeTwilioApp:
    def __init__(
        self, spec: Spec, handlers: Handlers, auth: Authenticator, journal: Journal, faults: Faults
    ) -> None:
        self._spec = spec
        self._handlers = handlers
        self._auth = auth
        self._journal = journal
        self._faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # uvicorn runs with lifespan off; nothing else is served
            return
        request = Request(scope, receive)
        record = await self._record(request)
        try:
            response = await self._answer(request, record)
        except SpecViolation as violation:
            self._journal.violate(
                Violation(
                    record.method,
                    record.path,
                    record.operation_id,
                    violation.status,
                    tuple(violation.problems),
                )
            )
            response = _error(violation)
        except TwilioError as error:
            response = _error(error)
        except Exception as exc:  # a bug in the fake: answer like Twilio's 500 and keep serving
            logger.exception("fake_twilio failed on %s %s", record.method, record.path)
            response = _error(TwilioError(500, 20500, f"Internal Server Error (fake_twilio bug: {exc!r})"))
        record.status = response.status_code
        await response(scope, receive, send)

    async def _record(self, request: Request) -> RecordedRequest:
        body = await request.body()
        form: list[tuple[str, str]] = []
        if _is_form(request):
            try:
                form = parse_pairs(body.decode("utf-8"))
            except UnicodeDecodeError:
                form = []  # rejected as a violation in _parameters
        record = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=parse_pairs(request.url.query),
            form=form,
            headers={key.lower(): value for key, value in request.headers.items()},
            body=body,
        )
        self._journal.record(record)
        return record

    async def _answer(self, request: Request, record: RecordedRequest) -> Response:
        fault = self._faults.take(record.method, record.path)
        if fault is not None:
            return await _fault(fault)
        match = self._route(record)
        record.operation_id = match.operation.operation_id
        principal = self._auth.authenticate(request.headers.get("authorization"))
        if principal is None:
            raise errors.authenticate()
        # Validated before the account check, or a malformed AccountSid would only ever be "not yours".
        form = self._parameters(request, record, match)
        account_sid = match.path_values.get("AccountSid")
        if account_sid is not None and not self._auth.may_access(principal, account_sid):
            raise errors.authenticate()
        reply = self._handlers.handle(
            Call(match.operation, record.path, match.path_values, Params.of(record.query), form, principal)
        )
        return _json(reply.status, reply.body)

    def _route(self, record: RecordedRequest) -> RouteMatch:
        try:
            return self._spec.match(record.method, record.path)
        except UnknownPath:
            raise SpecViolation(errors.not_found(record.path), ["no path of the spec matches"]) from None
        except MethodNotAllowed as exc:
            error = errors.method_not_allowed(record.method, exc.allowed)
            raise SpecViolation(error, [f"{record.method} is not one of {', '.join(exc.allowed)}"]) from None

    def _parameters(self, request: Request, record: RecordedRequest, match: RouteMatch) -> Params:
        if record.body:
            if not _is_form(request):
                content_type = request.headers.get("content-type", "")
                problem = f"body sent as {content_type!r}; the spec accepts only {FORM_CONTENT_TYPE}"
                raise SpecViolation(errors.unsupported_media_type(content_type), [problem])
            try:
                record.body.decode("utf-8")
            except UnicodeDecodeError:
                raise SpecViolation(errors.bad_request("Body is not UTF-8"), ["body is not UTF-8"]) from None
        form = Params.of(record.form)
        problems = validate(
            match.operation, match.path_values, Params.of(record.query), form, self._spec.deref
        )
        if problems:
            first = problems[0]
            raise SpecViolation(errors.bad_request(first.message, first.code), [p.message for p in problems])
        return form


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith(FORM_CONTENT_TYPE)


async def _fault(fault: Fault) -> Response:
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.raw_body is not None:
        return Response(fault.raw_body, fault.status, headers=fault.headers)
    return _error(fault.error())


def _error(error: TwilioError) -> Response:
    return _json(error.status, error.body(), error.headers)


def _json(status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> Response:
    all_headers = {"Twilio-Request-Id": "RQ" + uuid.uuid4().hex, **(headers or {})}
    if body is None:
        return Response(status_code=status, headers=all_headers)
    return Response(
        json.dumps(body), status, headers=all_headers, media_type="application/json; charset=utf-8"
    )
