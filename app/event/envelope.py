"""The event as stored and forwarded (contract section 4), built one way for every consumer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from app.jsonenc import dumps_bytes


def isoformat(moment: datetime) -> str:
    """``2026-12-03T18:00:00.123456Z`` for a UTC moment (aware or naive), always with microseconds."""
    return moment.isoformat(timespec="microseconds")[:26] + "Z"  # [:26]: without an aware one's offset


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: str
    connector: str
    account_sid: str | None
    dedupe_key: str
    received_at: datetime
    signature_valid: bool
    data: dict[str, Any]
    raw: dict[str, Any]

    def envelope(self) -> dict[str, Any]:
        return {**envelope_head(self), "data": self.data, "raw": self.raw}

    def values(self) -> tuple[Any, ...]:
        """The stored row's values, in ``COLUMNS`` order (the bulk insert binds tuples)."""
        return _values(self)

    def row(self) -> dict[str, Any]:
        return dict(zip(COLUMNS, _values(self), strict=True))

    @classmethod
    def from_row(cls, row: Any) -> Event:
        m = row._mapping
        return cls(**{name: m[name] for name in COLUMNS})


# The events table's columns are the event's fields, in order; one C call reads them all.
COLUMNS: tuple[str, ...] = tuple(field.name for field in fields(Event))
_values: Callable[[Event], tuple[Any, ...]] = attrgetter(*COLUMNS)


# The envelope's keys before ``data`` and ``raw``, in its order.
HEAD_KEYS = ("id", "type", "connector", "account_sid", "received_at", "signature_valid")

# Their values, as ``envelope_json`` takes them: received_at already written by ``isoformat``.
EnvelopeHead = tuple[str, str, str, str | None, str, bool]


def envelope_head(event: Any) -> dict[str, Any]:
    """The envelope without ``data`` and ``raw``, from an ``Event`` (or anything with its fields)."""
    head = (event.id, event.type, event.connector, event.account_sid, isoformat(event.received_at))
    return dict(zip(HEAD_KEYS, (*head, event.signature_valid), strict=True))


def envelope_json(head: EnvelopeHead, data: str, raw: str) -> bytes:
    """The envelope as JSON, with ``data`` and ``raw`` spliced in as the database returned their text.

    The delivery worker sends every stored event at least once: decoding both documents only to
    encode them again was a fifth of its work per delivery.
    """
    prefix = dumps_bytes(dict(zip(HEAD_KEYS, head, strict=True)))[:-1]
    return b'%s,"data":%s,"raw":%s}' % (prefix, data.encode(), raw.encode())
