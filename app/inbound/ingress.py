"""The webhook routes as a thin ASGI layer in front of FastAPI.

Webhooks are the hot path: Twilio waits on them and they arrive in bursts. Serving them here, before
FastAPI's routing, dependency solving and form parsing, spends the request budget on verifying and
committing instead. Every path declared by a definition's webhooks is served; anything else passes on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from app.config import Settings
from app.connector.registry import Registry
from app.errors import AppError, MethodNotAllowed, PayloadTooLarge
from app.event.writer import EventWriter
from app.inbound.meter import meters_for
from app.inbound.service import InboundRequest, ingest
from app.inbound.signature import RequestURL

log = logging.getLogger(__name__)

TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
_TWIML_HEADERS = [
    (b"content-type", b"text/xml; charset=utf-8"),
    (b"content-length", str(len(TWIML)).encode()),
]

ASGIApp = Callable[..., Any]


class WebhookIngress:
    def __init__(
        self, app: ASGIApp, registry: Registry, settings: Settings, writer: Callable[[], EventWriter]
    ):
        self.app = app
        self.registry = registry
        self.settings = settings
        self.writer = writer  # resolved per request: the lifespan creates it after this layer is built
        self.meters = meters_for(registry.webhooks)

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        webhook = self.registry.webhooks.get(scope["path"]) if scope["type"] == "http" else None
        if webhook is None:
            await self.app(scope, receive, send)
            return
        started, meter = time.perf_counter(), self.meters[webhook.path]
        meter.received.inc()
        try:
            if scope["method"] not in ("POST", "GET"):
                raise MethodNotAllowed("webhooks are POST (or GET, if so configured at Twilio)")
            headers = _headers(scope)
            body = await _read_body(receive, headers.get("content-length"), self.settings.max_body_bytes)
            request = InboundRequest(
                method=scope["method"],
                url=_request_url(scope, headers),
                content_type=headers.get("content-type"),
                signature=headers.get("x-twilio-signature"),
                body=body,
            )
            stored = await ingest(webhook, request, self.settings, self.writer())
        except AppError as exc:
            await _send_error(send, exc)
            meter.rejected(scope, started, exc.status_code, exc.code)
            return
        await send({"type": "http.response.start", "status": 200, "headers": _TWIML_HEADERS})
        await send({"type": "http.response.body", "body": TWIML})
        meter.accepted(scope, started, stored)


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    # Later duplicates win except for the signature, which Twilio sends once; latin-1 is HTTP's byte view.
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


def _request_url(scope: dict[str, Any], headers: dict[str, str]) -> RequestURL:
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1").split("?", 1)[0] if raw_path else scope["path"]
    client = scope.get("client")
    return RequestURL(
        scheme=scope.get("scheme", "http"),
        host=headers.get("host", ""),
        raw_path=path,
        raw_query=scope.get("query_string", b"").decode("latin-1"),
        peer=client[0] if client else None,
        forwarded_proto=headers.get("x-forwarded-proto"),
        forwarded_host=headers.get("x-forwarded-host"),
        forwarded_port=headers.get("x-forwarded-port"),
    )


async def _read_body(receive: Callable[..., Any], content_length: str | None, limit: int) -> bytes:
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes")
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _send_error(send: Callable[..., Any], exc: AppError) -> None:
    body = json.dumps(exc.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if exc.status_code == 503:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
