"""SQL for ``idempotency_keys`` and ``number_connections``; callers own the transactions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import idempotency_keys, number_connections

# -- idempotency_keys ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredKey:
    key: str
    request_hash: str
    status_code: int | None  # None: the first request is still in flight (or died in flight)
    response_body: Any
    created_at: datetime


async def insert_pending(conn: AsyncConnection, key: str, request_hash: str, now: datetime) -> bool:
    """Insert the key's pending marker; False when the key exists (the primary key decides, atomically)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(idempotency_keys)
        .values(key=key, request_hash=request_hash, status_code=None, response_body=None, created_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(idempotency_keys.c.key)
    )
    return (await conn.execute(statement)).first() is not None


async def get_key(conn: AsyncConnection, key: str) -> StoredKey | None:
    row = (await conn.execute(select(idempotency_keys).where(idempotency_keys.c.key == key))).first()
    if row is None:
        return None
    return StoredKey(row.key, row.request_hash, row.status_code, row.response_body, row.created_at)


async def delete_completed_before(conn: AsyncConnection, key: str, cutoff: datetime) -> None:
    """Forget the key if its answer is older than ``cutoff``: keys are remembered for a while only."""
    await conn.execute(
        delete(idempotency_keys).where(
            idempotency_keys.c.key == key,
            idempotency_keys.c.status_code.is_not(None),
            idempotency_keys.c.created_at < cutoff,
        )
    )


async def complete_key(conn: AsyncConnection, key: str, status_code: int, body: Any) -> None:
    await conn.execute(
        update(idempotency_keys)
        .where(idempotency_keys.c.key == key)
        .values(status_code=status_code, response_body=body)
    )


async def delete_key(conn: AsyncConnection, key: str) -> None:
    await conn.execute(delete(idempotency_keys).where(idempotency_keys.c.key == key))


# -- number_connections --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NumberConnection:
    account_sid: str
    phone_number: str
    number_sid: str
    previous: dict[str, str | None]  # Twilio's settings before `connect`, by placeholder name
    connected_at: datetime


REMEMBERED = (
    "sms_url",
    "sms_method",
    "voice_url",
    "voice_method",
    "status_callback",
    "status_callback_method",
)


async def get_connection(
    conn: AsyncConnection, account_sid: str, phone_number: str
) -> NumberConnection | None:
    row = (
        await conn.execute(
            select(number_connections).where(
                number_connections.c.account_sid == account_sid,
                number_connections.c.phone_number == phone_number,
            )
        )
    ).first()
    if row is None:
        return None
    values = row._mapping
    return NumberConnection(
        row.account_sid,
        row.phone_number,
        row.number_sid,
        {name: values[name] for name in REMEMBERED},
        row.connected_at,
    )


async def insert_connection(conn: AsyncConnection, connection: NumberConnection) -> None:
    await conn.execute(
        insert(number_connections).values(
            account_sid=connection.account_sid,
            phone_number=connection.phone_number,
            number_sid=connection.number_sid,
            connected_at=connection.connected_at,
            **{name: connection.previous.get(name) for name in REMEMBERED},
        )
    )


async def delete_connection(conn: AsyncConnection, account_sid: str, phone_number: str) -> None:
    await conn.execute(
        delete(number_connections).where(
            number_connections.c.account_sid == account_sid,
            number_connections.c.phone_number == phone_number,
        )
    )
