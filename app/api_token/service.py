"""Creating and verifying API tokens.

A token is ``sbt_`` + 256 random bits. Only its SHA-256 is stored, so a copy of the database does not
hold usable tokens; a salted slow hash is not needed because the token is random, not a password.
``SWITCHBOARD_API_TOKEN`` is accepted too, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from app import clock, ids
from app.api_token import repository

TOKEN_PREFIX = "sbt_"  # noqa: S105 - the format's prefix, not a secret
# last_used_at is for humans auditing tokens: minute precision is enough, and it spares a write per request.
TOUCH_EVERY = timedelta(minutes=1)
# Real tokens are ~47 characters; anything much longer is not one, and is not worth hashing.
MAX_TOKEN_LENGTH = 512


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(conn: AsyncConnection, name: str) -> tuple[str, str]:
    """Store a new token under ``name``; return its id and the plaintext token (never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = ids.new_id("tok")
    await repository.insert_token(
        conn, id=token_id, name=name, token_hash=hash_token(token), now=clock.utc_now()
    )
    return token_id, token


def matches_configured(token: str, configured: str | None) -> bool:
    """Whether ``token`` is ``SWITCHBOARD_API_TOKEN`` (constant time, so timing reveals no prefix)."""
    return configured is not None and hmac.compare_digest(token.encode(), configured.encode())


async def verify_stored(conn: AsyncConnection, token: str) -> bool:
    """Whether ``token`` was created by ``api-tokens create``; records its use at most once a minute."""
    if len(token) > MAX_TOKEN_LENGTH:
        return False
    row = await repository.find_by_hash(conn, hash_token(token))
    if row is None:
        return False
    now = clock.utc_now()
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        await repository.touch(conn, row.id, now, TOUCH_EVERY)
    return True
