"""The event as stored and forwarded (contract section 4), built one way for every consumer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


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
        return {
            "id": self.id,
            "type": self.type,
            "connector": self.connector,
            "account_sid": self.account_sid,
            "received_at": isoformat(self.received_at),
            "signature_valid": self.signature_valid,
            "data": self.data,
            "raw": self.raw,
        }

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "connector": self.connector,
            "account_sid": self.account_sid,
            "dedupe_key": self.dedupe_key,
            "received_at": self.received_at,
            "signature_valid": self.signature_valid,
            "data": self.data,
            "raw": self.raw,
        }

    @classmethod
    def from_row(cls, row: Any) -> Event:
        m = row._mapping
        return cls(
            id=m["id"],
            type=m["type"],
            connector=m["connector"],
            account_sid=m["account_sid"],
            dedupe_key=m["dedupe_key"],
            received_at=m["received_at"],
            signature_valid=m["signature_valid"],
            data=m["data"],
            raw=m["raw"],
        )
