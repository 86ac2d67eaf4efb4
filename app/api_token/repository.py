"""SQL for API tokens. Callers own the transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import api_tokens


async def insert_token(conn: AsyncConnection, *, id: str, name: str, token_hash: str, now: datetime) -> None:
    values = {"id": id, "name": name, "token_hash": token_hash, "created_at": now}
    await conn.execute(insert(api_tokens).values(values))


async def find_by_hash(conn: AsyncConnection, token_hash: str) -> Any | None:
    columns = (api_tokens.c.id, api_tokens.c.last_used_at)
    return (await conn.execute(select(*columns).where(api_tokens.c.token_hash == token_hash))).first()


async def touch(conn: AsyncConnection, token_id: str, now: datetime, every: timedelta) -> None:
    """Record a use, unless one was recorded less than ``every`` ago (by this or another request)."""
    stale = api_tokens.c.last_used_at.is_(None) | (api_tokens.c.last_used_at < now - every)
    await conn.execute(update(api_tokens).where(api_tokens.c.id == token_id, stale).values(last_used_at=now))
