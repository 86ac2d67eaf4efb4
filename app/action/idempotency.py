"""``Idempotency-Key`` on actions: the first answer given to a key is the answer to every repeat of it.

No database transaction is open while Twilio is called. The steps:

1. **Claim**, in a short transaction of its own: forget the key if its answer is older than
   ``RETENTION``, then insert a *pending* row (``INSERT … ON CONFLICT DO NOTHING``). The primary key makes
   the insert the lock: of two concurrent requests with one key, exactly one inserts. The other reads the
   row and gets
   - a replay of the stored status and body (header ``Idempotent-Replayed: true``) if it is complete;
   - 409 ``idempotency_key_in_use`` if it is still pending: it does not wait, because the first request
     can take as long as Twilio's retries (up to the client's budget); the caller retries shortly;
   - 409 ``idempotency_key_reused`` if the key came with another action or body.
2. **Call** Twilio.
3. **Record**, in a second short transaction, the status and body: the success, and every error after
   which Twilio may have acted (a 400 for a bad number, a timeout on a create). An error after which
   Twilio certainly did not act (a 429 rate limit, a 503, a refused connection) *releases* the key
   instead, so the same request can be sent again under the same key. (Requests that fail validation
   never claim a key: they are checked before step 1.)

A pending row whose process died in step 2 stays pending: its outcome is unknown, so repeats keep
getting 409 (after ``STALE_AFTER`` the message says so) rather than risking a second message or call.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock
from app.action import repository
from app.action.client import may_have_acted
from app.api.deps import transaction
from app.db import describe_error
from app.errors import AppError, Conflict

log = logging.getLogger("switchboard.actions")

RETENTION = timedelta(hours=24)
STALE_AFTER = timedelta(minutes=2)  # well past the Twilio client's retry budget and timeouts

Action = Callable[[], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int
    body: Any
    replayed: bool


def fingerprint(action: str, body: Any) -> str:
    """SHA-256 of the action and its validated body: key order and whitespace do not matter."""
    canonical = json.dumps([action, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def run(db: AsyncEngine, key: str | None, request_hash: str, action: Action) -> Outcome:
    """``action`` once per key; errors propagate as AppError (after being recorded for the key)."""
    if key is None:
        status_code, body = await action()
        return Outcome(status_code, body, replayed=False)
    stored = await _claim(db, key, request_hash)
    if stored is not None:
        return _replay(stored, request_hash)
    try:
        status_code, body = await action()
    except AppError as error:
        if may_have_acted(error):
            await _record(db, key, error.status_code, error.body())
        else:
            await _release(db, key)
        raise
    await _record(db, key, status_code, body)
    return Outcome(status_code, body, replayed=False)


async def _claim(db: AsyncEngine, key: str, request_hash: str) -> repository.StoredKey | None:
    """None when this request owns the key now; else the row another request made."""
    now = clock.utc_now()
    async with transaction(db) as conn:
        await repository.delete_completed_before(conn, key, now - RETENTION)
        if await repository.insert_pending(conn, key, request_hash, now):
            return None
        stored = await repository.get_key(conn, key)
    if stored is None:  # completed and expired between our statements, by another request: rare
        raise Conflict(
            "another request with this Idempotency-Key is in progress", code="idempotency_key_in_use"
        )
    return stored


def _replay(stored: repository.StoredKey, request_hash: str) -> Outcome:
    if stored.request_hash != request_hash:
        raise Conflict(
            "this Idempotency-Key was used with a different request; use a new key for a new request",
            code="idempotency_key_reused",
        )
    if stored.status_code is None:
        if clock.utc_now() - stored.created_at > STALE_AFTER:
            raise Conflict(
                "the request first sent with this Idempotency-Key never finished (its process stopped); "
                "whether Twilio acted on it is unknown: check Twilio before sending again with a new key",
                code="idempotency_key_in_use",
            )
        raise Conflict(
            "another request with this Idempotency-Key is in progress; retry in a few seconds",
            code="idempotency_key_in_use",
        )
    return Outcome(stored.status_code, stored.response_body, replayed=True)


async def _record(db: AsyncEngine, key: str, status_code: int, body: Any) -> None:
    # Twilio has acted: a failure to remember it must not turn into an error the caller retries,
    # which would repeat the action. The key stays pending (repeats get 409) and the caller gets the truth.
    try:
        async with transaction(db) as conn:
            await repository.complete_key(conn, key, status_code, body)
    except (AppError, OSError, DBAPIError) as exc:
        log.error("idempotency key answer not stored (the key stays pending): %s", describe_error(exc))


async def _release(db: AsyncEngine, key: str) -> None:
    try:
        async with transaction(db) as conn:
            await repository.delete_key(conn, key)
    except (AppError, OSError, DBAPIError) as exc:
        log.error("idempotency key not released (it stays pending): %s", describe_error(exc))
