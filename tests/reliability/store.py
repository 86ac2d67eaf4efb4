"""What the database and the callback receiver hold, counted per MessageSid, to check nothing was lost."""

from __future__ import annotations

import asyncio
import collections
import json
import time
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import deliveries, events
from tests.receiver import Receiver


async def stored_message_sids(engine: AsyncEngine) -> collections.Counter[str]:
    """How many stored events carry each MessageSid (from ``raw``: what Twilio sent, not a mapping)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(events.c.raw))).scalars().all()
    return collections.Counter(str(_raw(raw).get("MessageSid")) for raw in rows)


def _raw(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def received_message_sids(receiver: Receiver) -> collections.Counter[str]:
    """How many times the receiver got each event (a crash may repeat one: at least once)."""
    return collections.Counter(r.json()["raw"]["MessageSid"] for r in receiver.received)


async def wait_received(receiver: Receiver, sids: Collection[str], timeout: float) -> float:
    """Wait until every one of ``sids`` reached ``receiver``; return how long that took."""
    started = time.monotonic()
    wanted = set(sids)
    seen: set[str] = set()
    checked = 0
    while True:
        for request in receiver.received[checked:]:
            seen.add(request.json()["raw"]["MessageSid"])
        checked = len(receiver.received)
        if wanted <= seen:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            missing = sorted(wanted - seen)
            raise AssertionError(
                f"{len(missing)} events never delivered after {timeout}s, e.g. {missing[:5]}"
            )
        await asyncio.sleep(0.1)


async def delivery_statuses(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(deliveries.c.status, func.count()).group_by(deliveries.c.status))
        return {status: count for status, count in rows.all()}
