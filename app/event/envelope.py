"""The event as stored and forwarded (contract section 4), built one way for every consumer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from app.jsonenc import dumps_bytes


def isoformat(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


def envelope_head(event: Any) -> dict[str, Any]:
    """The envelope without ``data`` and ``raw``, in the envelope's key order, from an ``Event`` or a
    row with the events table's columns."""
    return {
        "id": event.id,
        "type": event.type,
        "connector": event.connector,
        "account_sid": event.account_sid,
        "received_at": isoformat(event.received_at),
        "signature_valid": event.signature_valid,
    }


def envelope_json(event: Any, data: str, raw: str) -> bytes:
    """The envelope as JSON, with ``data`` and ``raw`` spliced in as the database returned their text.

    The delivery worker sends every stored event at least once: decoding both documents only to
    encode them again was a fifth of its work per delivery. ``event`` as for ``envelope_head``.
    """
    head = dumps_bytes(envelope_head(event))[:-1]
    return b'%s,"data":%s,"raw":%s}' % (head, data.encode(), raw.encode())
