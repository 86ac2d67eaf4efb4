"""SQL for subscriptions. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import subscriptions


async def enabled_for_matching(conn: AsyncConnection) -> Sequence[Any]:
    columns = (subscriptions.c.id, subscriptions.c.events, subscriptions.c.filter, subscriptions.c.updated_at)
    return (await conn.execute(select(*columns).where(subscriptions.c.enabled.is_(True)))).all()
