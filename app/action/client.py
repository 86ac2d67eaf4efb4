"""HTTP to Twilio's REST API: basic auth, form bodies, JSON answers, timeouts, retries, errors as ours.

One ``httpx.AsyncClient`` serves the whole process (the runtime creates it at start and closes it at
stop), so connections to Twilio are pooled. Each ``TwilioClient`` adds the credentials, the definition's
headers and the retry policy (``app.action.retry``) on top of it.

Errors raised::

    AppError
    ├── TwilioError (Twilio's status, its message, twilio_code, more_info)   Twilio answered an error
    └── UpstreamUnavailable (502)
        └── TwilioUnreachable   no answer: refused, DNS, timeout, broken connection, not JSON

The auth token goes only into the ``Authorization`` header; it is never logged or put in a message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from app import clock
from app.action.retry import RetryPolicy, not_processed, parse_retry_after
from app.errors import AppError, TwilioError, UpstreamUnavailable

log = logging.getLogger("switchboard.twilio")

FORM = "application/x-www-form-urlencoded"
# Connect fails fast (Twilio is either there or not); reads get the time a slow create can take.
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

Sleep = Callable[[float], Awaitable[None]]


def new_http_client(timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.AsyncClient:
    """The process's client for Twilio. Redirects are not followed: Twilio's API answers, it never moves."""
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        headers={"User-Agent": f"Switchboard/{_version()}"},
    )


class TwilioUnreachable(UpstreamUnavailable):
    """No usable answer from Twilio. ``request_sent``: whether Twilio may have received the request."""

    def __init__(self, message: str, *, request_sent: bool):
        super().__init__(message)
        self.request_sent = request_sent


def may_have_acted(error: AppError) -> bool:
    """Whether Twilio may have acted on a request that ended in ``error`` (so repeating it is unsafe)."""
    if isinstance(error, TwilioUnreachable):
        return error.request_sent
    if isinstance(error, TwilioError):
        code = error.extra.get("twilio_code")
        return not not_processed(error.status_code, code if isinstance(code, int) else None)
    return True


@dataclass(frozen=True, slots=True)
class TwilioResponse:
    status: int
    body: Any  # Twilio's JSON; None for an empty answer (204 on delete)


class TwilioClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        account_sid: str,
        auth_token: str,
        headers: Mapping[str, str],
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ):
        self._http = http
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._headers = dict(headers)
        self._policy = policy or RetryPolicy()
        self._sleep = sleep

    async def send(
        self,
        method: str,
        url: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        form: Sequence[tuple[str, str]] = (),
        headers: Sequence[tuple[str, str]] = (),
    ) -> TwilioResponse:
        """One call, retried per the policy; raises TwilioError or TwilioUnreachable when it fails."""
        method = method.upper()
        where = f"{method} {urlsplit(url).path}"  # no query: it can hold phone numbers and message text
        started = clock.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._attempt(method, url, query, form, headers)
            except httpx.TransportError as exc:
                sent = not isinstance(exc, _NOT_SENT)
                delay = self._retry_transport(method, sent, exc, attempt, started)
                if delay is None:
                    raise _unreachable(exc, sent, attempt) from None
                log.warning(
                    "twilio %s: %s; retrying in %.2fs (attempt %d)", where, type(exc).__name__, delay, attempt
                )
                await self._sleep(delay)
                continue
            elapsed_ms = (clock.monotonic() - started) * 1000
            if response.is_success:
                log.debug(
                    "twilio %s -> %d in %.0f ms (%d attempts)",
                    where,
                    response.status_code,
                    elapsed_ms,
                    attempt,
                )
                return TwilioResponse(response.status_code, _json_body(response, where))
            error = _error(response, where)
            code = error.extra.get("twilio_code") if isinstance(error, TwilioError) else None
            delay = None
            if self._policy.should_retry_status(method, response.status_code, code):
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                delay = self._policy.wait(attempt, retry_after, clock.monotonic() - started)
            if delay is None:
                log.info(
                    "twilio %s -> %d (twilio code %s) after %d attempt(s)",
                    where,
                    response.status_code,
                    code,
                    attempt,
                )
                raise error
            log.warning(
                "twilio %s -> %d (twilio code %s); retrying in %.2fs (attempt %d)",
                where,
                response.status_code,
                code,
                delay,
                attempt,
            )
            await self._sleep(delay)

    async def _attempt(
        self,
        method: str,
        url: str,
        query: Sequence[tuple[str, str]],
        form: Sequence[tuple[str, str]],
        extra_headers: Sequence[tuple[str, str]],
    ) -> httpx.Response:
        headers = {**self._headers, **dict(extra_headers)}
        content: bytes | None = None
        if method in ("POST", "PUT", "PATCH"):
            # Form-encoded by hand: a list of pairs keeps repeated keys (MediaUrl=a&MediaUrl=b) in order.
            content = urlencode(list(form)).encode("ascii")
            headers["Content-Type"] = FORM
        request = self._http.build_request(
            method, url, params=list(query) or None, content=content, headers=headers
        )
        return await self._http.send(request, auth=self._auth)

    def _retry_transport(
        self, method: str, sent: bool, exc: httpx.TransportError, attempt: int, started: float
    ) -> float | None:
        if isinstance(exc, httpx.UnsupportedProtocol):
            return None  # a misconfigured TWILIO_API_BASE_URL does not get better by waiting
        if not self._policy.should_retry_transport(method, request_sent=sent):
            return None
        return self._policy.wait(attempt, None, clock.monotonic() - started)


def _unreachable(exc: httpx.TransportError, sent: bool, attempts: int) -> TwilioUnreachable:
    if isinstance(exc, httpx.TimeoutException):
        what = "Twilio did not answer in time"
    else:
        what = f"cannot reach Twilio ({type(exc).__name__})"
    tail = "; it may have received the request" if sent else ""
    return TwilioUnreachable(f"{what} after {attempts} attempt(s){tail}", request_sent=sent)


def _json_body(response: httpx.Response, where: str) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise TwilioUnreachable(
            f"Twilio answered {where} with {response.status_code} but not JSON "
            f"({response.headers.get('content-type', 'no content type')})",
            request_sent=True,
        ) from None


def _error(response: httpx.Response, where: str) -> AppError:
    """Twilio's error JSON (``{code, message, more_info, status}``, or RFC 9457) as a TwilioError."""
    if response.status_code < 400:
        # A redirect (never followed) or an informational answer: not an answer of Twilio's API.
        return TwilioUnreachable(
            f"Twilio answered {where} with an unexpected {response.status_code} {response.reason_phrase}",
            request_sent=True,
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if response.status_code >= 500:
            # An HTML page from a proxy or load balancer: Twilio's API itself did not answer.
            return TwilioUnreachable(
                f"Twilio answered {where} with {response.status_code} {response.reason_phrase} "
                "and no error details",
                request_sent=not not_processed(response.status_code, None),
            )
        return TwilioError(response.status_code, response.reason_phrase or "Twilio error", None, None)
    message = str(body.get("message") or body.get("detail") or body.get("title") or response.reason_phrase)
    if response.status_code == 401:
        # Passed through with Twilio's status, as the contract says: say whose credentials were refused.
        message += " (Twilio refused the configured TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)"
    code = body.get("code")
    more_info = body.get("more_info") or body.get("type")
    return TwilioError(
        response.status_code,
        message,
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        more_info if isinstance(more_info, str) else None,
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("switchboard")
    except PackageNotFoundError:
        return "0.0.0"
