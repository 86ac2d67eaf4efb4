"""The named actions, each a thin layer over one definition operation run by the engine.

- ``send_sms`` / ``send_whatsapp`` → ``messages.create``; WhatsApp adds the ``whatsapp:`` channel prefix
  to ``to`` and ``from`` where it is missing (never twice).
- ``call_phone`` → ``calls.create``.
- ``api_request`` → any 2010-04-01 path below the account (checked by ``app.action.api_path``).

Status correlation: when ``SWITCHBOARD_PUBLIC_URL`` is set and the caller names no ``status_callback``,
sends ask Twilio to report status to our own status webhooks (their paths come from the definition's
``messages/message_status`` and ``calls/call_status`` webhooks), and calls ask for every progress event.

Each action is split in two: ``prepare_*`` renders and checks (every 422 happens there, before an
idempotency key is claimed or Twilio is called) and ``send`` runs what was prepared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.action.api_path import account_path, param_pairs
from app.action.engine import Kind, OperationEngine, Prepared
from app.action.schemas import ApiRequest, CallPhone, SendMessage
from app.action.template import RenderedRequest
from app.config import Settings
from app.connector.registry import Registry

MESSAGE_STATUS_EVENT = "messages/message_status"
CALL_STATUS_EVENT = "calls/call_status"
# Every call progress event Twilio reports (its default is `completed` only).
CALL_PROGRESS_EVENTS = ("initiated", "ringing", "answered", "completed")
WHATSAPP = "whatsapp:"


@dataclass(frozen=True, slots=True)
class StatusCallbacks:
    """Where Twilio should report status when the caller does not say: our own webhooks, if reachable."""

    message: str | None
    call: str | None

    @classmethod
    def from_settings(cls, settings: Settings, registry: Registry) -> StatusCallbacks:
        return cls(
            webhook_url(settings.public_url, registry, MESSAGE_STATUS_EVENT),
            webhook_url(settings.public_url, registry, CALL_STATUS_EVENT),
        )


def webhook_url(public_url: str | None, registry: Registry, event_type: str) -> str | None:
    """``SWITCHBOARD_PUBLIC_URL`` + the path of the webhook producing ``event_type``, if both exist.

    The path comes from the definition, so a definition that moves a webhook moves the callback too.
    """
    webhook = registry.event_types.get(event_type)
    if public_url is None or webhook is None:
        return None
    return public_url.rstrip("/") + webhook.path


def whatsapp_address(address: str) -> str:
    """``+1555…`` → ``whatsapp:+1555…``; an address already on the channel keeps its one prefix."""
    if address.lower().startswith(WHATSAPP):
        return WHATSAPP + address[len(WHATSAPP) :]
    return WHATSAPP + address


def prepare_message(
    engine: OperationEngine, payload: SendMessage, callbacks: StatusCallbacks, *, whatsapp: bool = False
) -> Prepared:
    to, sender = payload.to, payload.from_
    if whatsapp:
        to = whatsapp_address(to)
        sender = whatsapp_address(sender) if sender else sender
    values: dict[str, Any] = {
        "to": to,
        "from": sender,
        "messaging_service_sid": payload.messaging_service_sid,
        "body": payload.body,
        "media_urls": payload.media_urls,
        "status_callback": payload.status_callback or callbacks.message,
    }
    return engine.prepare("messages", Kind.CREATE, values)


def prepare_call(engine: OperationEngine, payload: CallPhone, callbacks: StatusCallbacks) -> Prepared:
    values: dict[str, Any] = {
        "to": payload.to,
        "from": payload.from_,
        "url": payload.url,
        "twiml": payload.twiml,
        "status_callback": payload.status_callback,
    }
    if payload.status_callback is None and callbacks.call is not None:
        values["status_callback"] = callbacks.call
        values["status_callback_events"] = list(CALL_PROGRESS_EVENTS)
    return engine.prepare("calls", Kind.CREATE, values)


def prepare_api_request(engine: OperationEngine, payload: ApiRequest) -> RenderedRequest:
    """The request ``api_request`` sends: its path checked, its params as query (GET/DELETE) or form."""
    path = account_path(payload.path, engine.account_sid)
    pairs = param_pairs(payload.params or {})
    if payload.method == "POST":
        return RenderedRequest(payload.method, path, (), pairs)
    return RenderedRequest(payload.method, path, pairs, ())


async def send(engine: OperationEngine, prepared: Prepared) -> tuple[int, dict[str, Any]]:
    """Run a prepared create: 201 with the new resource mapped through the definition's fields."""
    item = await engine.execute(prepared)
    assert item is not None  # creates answer with the resource
    return 201, {"data": item.data, "raw": item.raw}


async def send_api_request(engine: OperationEngine, request: RenderedRequest) -> tuple[int, dict[str, Any]]:
    response = await engine.send(request)
    return 200, {"status": response.status, "raw": response.body}
