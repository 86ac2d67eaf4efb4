"""The access log: one line per HTTP request, and the API's request metrics.

Lines go to the ``switchboard.access`` logger with the fields ``method``, ``path``, ``status``,
``duration_ms`` and ``client`` (webhooks add ``event``, and ``event_id`` when an event was stored or
``reason`` when rejected). The query string is never logged: a GET webhook carries the message there.
Probes (``/healthz``, ``/readyz``, ``/metrics``) are logged at DEBUG, so a scraper does not drown
the log. uvicorn's own access log is off (``access_log=False``): this one replaces it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from app import metrics
from app.logging import log_vetted

log = logging.getLogger("switchboard.access")

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
UNMATCHED = "unmatched"  # the route label of requests no route matched (404): paths are unbounded

ASGIApp = Callable[..., Any]


def _client(scope: dict[str, Any]) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def log_webhook(
    scope: dict[str, Any],
    status: int,
    seconds: float,
    event: str,
    *,
    event_id: str | None,
    reason: str | None,
) -> None:
    if not log.isEnabledFor(logging.INFO):  # the hot path: build nothing when nobody listens
        return
    fields: dict[str, Any] = {
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "client": _client(scope),
        "event": event,
    }
    if event_id is not None:
        fields["event_id"] = event_id
    if reason is not None:
        fields["reason"] = reason
    log_vetted(log, logging.INFO, f"{scope['method']} {scope['path']} {status}", fields)


class AccessMiddleware:
    """Times every request FastAPI serves (API, docs, probes), counts it and logs it."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises before starting a response

        async def send_and_note_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            _record(scope, status, time.perf_counter() - started)


def route_template(scope: dict[str, Any]) -> str:
    """The matched route's full template (``/api/v1/events/{event_id}``), for a bounded label.

    The router leaves the matched route on the scope, but with its path relative to the router it
    was declared on (``/events/{event_id}``); the prefixes it was included under are the segments
    of the request's path in front of it.
    """
    template = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str):
        return UNMATCHED
    if ":path}" in template:  # a parameter spanning several segments: the prefix is not countable
        return template
    segments = scope["path"].split("/")
    return "/".join(segments[: len(segments) - template.count("/")]) + template


def _record(scope: dict[str, Any], status: int, seconds: float) -> None:
    route = route_template(scope)
    method = scope["method"]
    metrics.HTTP_DURATION.labels(route, method).observe(seconds)
    metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
    path = scope["path"]
    level = logging.DEBUG if path in PROBES else logging.INFO
    if log.isEnabledFor(level):
        fields = {
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "client": _client(scope),
        }
        log.log(level, "%s %s %d", method, path, status, extra=fields)
