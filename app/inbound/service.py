"""Ingesting one webhook: check the signature and account, map through the definition, store durably."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app import clock, ids
from app.config import Settings, SignatureMode
from app.connector.mapping import dedupe_key
from app.connector.registry import Webhook
from app.errors import AppError
from app.event.envelope import Event
from app.event.writer import EventWriter, Stored
from app.inbound import payload as payload_parser
from app.inbound.signature import RequestURL, signed_url_bases, verify

log = logging.getLogger(__name__)


class Forbidden(AppError):
    status_code, code = 403, "forbidden"


@dataclass(frozen=True)
class InboundRequest:
    method: str
    url: RequestURL
    content_type: str | None
    signature: str | None
    body: bytes


async def ingest(
    webhook: Webhook, request: InboundRequest, settings: Settings, writer: EventWriter
) -> Stored:
    try:
        received = payload_parser.parse(
            request.body, request.content_type, request.url.raw_query if request.method == "GET" else ""
        )
    except AppError as exc:
        _log_rejection(webhook, request, exc.code, param_count=None)
        raise
    params = received.params
    signature_valid = _check_signature(webhook, request, received, settings)
    account_sid = params.get("AccountSid") if isinstance(params.get("AccountSid"), str) else None
    if settings.twilio_account_sid and account_sid != settings.twilio_account_sid:
        _log_rejection(webhook, request, "wrong_account", param_count=len(params))
        raise Forbidden("the payload's AccountSid is not the configured account", code="wrong_account")

    definition = webhook.definition
    event = Event(
        id=ids.new_id("evt"),
        type=webhook.event_type,
        connector=webhook.connector.handle,
        account_sid=account_sid,
        dedupe_key=dedupe_key(params, definition.dedupe_key),
        received_at=clock.utc_now(),
        signature_valid=signature_valid,
        data=webhook.map_payload(params),
        raw=params,
    )
    return await writer.store(event)


def _check_signature(
    webhook: Webhook, request: InboundRequest, received: payload_parser.Payload, settings: Settings
) -> bool:
    verdict = verify(
        signature=request.signature,
        base_urls=signed_url_bases(request.url, settings.public_url, settings.trusted_proxies or ()),
        # Twilio signs a GET as its full URL alone (the parameters are in that URL's query already);
        # only a POST's body parameters are appended to the URL.
        params={} if received.is_json or request.method == "GET" else received.params,
        tokens=settings.auth_tokens,
        json_body=request.body if received.is_json else None,
    )
    if verdict.valid:
        return True
    diagnostic = {
        "reason": verdict.reason,
        "tried": list(verdict.tried),
        "content_type": payload_parser.media_type(request.content_type),
        "param_count": len(received.params),
    }
    if settings.signature_mode is SignatureMode.ENFORCE:
        log.warning("webhook rejected: invalid signature on %s %s", webhook.path, diagnostic)
        raise Forbidden(f"invalid Twilio signature: {verdict.reason}", code="invalid_signature")
    if settings.signature_mode is SignatureMode.MONITOR:
        log.warning("webhook accepted unverified (monitor mode) on %s %s", webhook.path, diagnostic)
    return False


def _log_rejection(webhook: Webhook, request: InboundRequest, reason: str, param_count: int | None) -> None:
    log.warning(
        "webhook rejected on %s: reason=%s content_type=%s bytes=%d params=%s",
        webhook.path,
        reason,
        payload_parser.media_type(request.content_type),
        len(request.body),
        param_count,
    )
