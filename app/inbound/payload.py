"""Webhook bodies → parameters: form (repeated keys become lists) or JSON, with the contract's errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from app.errors import BadRequest, UnsupportedMediaType

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True)
class Payload:
    params: dict[str, Any]  # every parameter as received; a repeated form key is a list
    is_json: bool


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_form(text: str) -> dict[str, str | list[str]]:
    """``parse_qsl(text, keep_blank_values=True, errors="strict")`` into a dict, repeated keys as lists.

    Written out because it runs on every webhook: a part without ``%`` or ``+`` (most keys) needs no
    unquoting at all.
    """
    params: dict[str, str | list[str]] = {}
    for part in text.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key, errors="strict")
        if "%" in value or "+" in value:
            value = unquote_plus(value, errors="strict")
        existing = params.get(key)
        if existing is None:
            params[key] = value
        elif isinstance(existing, list):
            existing.append(value)
        else:
            params[key] = [existing, value]
    return params


def _refuse_constant(name: str) -> None:
    # NaN and Infinity are not JSON: PostgreSQL's jsonb refuses them, and nothing in Twilio sends them.
    raise ValueError(f"{name} is not a JSON value")


def _storable(value: Any) -> bool:
    """Text both stores keep: PostgreSQL refuses NUL in text/jsonb, and lone surrogates are not UTF-8."""
    if isinstance(value, str):
        return _encodes(value)
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    return True


def _encodes(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse(body: bytes, content_type: str | None, query: str = "") -> Payload:
    """Parameters of a POST body (or of the query string of a GET, ``body`` empty and no type)."""
    kind = media_type(content_type)
    try:
        if kind == FORM or (not kind and not body):
            params: dict[str, Any] = parse_form(body.decode("utf-8") if body else query)
            is_json = False
        elif kind == JSON or kind.endswith("+json"):
            document = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
            if not isinstance(document, dict):
                raise BadRequest("a JSON webhook body must be an object", code="undecodable_body")
            params, is_json = document, True
        else:
            raise UnsupportedMediaType(
                f"content type {kind or '(none)'} is not accepted; send {FORM} or {JSON}",
                code="unsupported_media_type",
            )
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadRequest(
            f"the body cannot be decoded: {type(exc).__name__}", code="undecodable_body"
        ) from None
    # Strict UTF-8 form decoding cannot yield surrogates, so a form only needs looking at for NUL.
    suspicious = is_json or b"\x00" in body or b"%00" in body or "%00" in query
    if suspicious and not _storable(params):
        raise BadRequest("the body holds NUL or unpaired surrogate characters", code="undecodable_body")
    return Payload(params, is_json)
