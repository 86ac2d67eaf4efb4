"""Subscriptions: what makes one valid, and the rules for changing it (secrets, ``updated_at``).

Validation that needs no database (event types, filter, callback URL) is done by the ``check_*``
functions, which routes run *before* the request's transaction opens: checking a URL resolves its host,
and a DNS lookup must not hold a transaction (on SQLite, the write lock) open.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app import clock, ids
from app.api.pagination import PageRequest, page_of
from app.config import Settings
from app.connector.registry import Registry
from app.delivery import signing, ssrf
from app.errors import NotFound, Unprocessable
from app.subscription import repository
from app.subscription.filter import FilterError, parse_filter
from app.subscription.schemas import (
    SubscriptionCreate,
    SubscriptionList,
    SubscriptionRead,
    SubscriptionUpdate,
    SubscriptionWithSecret,
)

# How long the previous secret keeps signing after a rotation (contract section 5).
SECRET_OVERLAP = timedelta(hours=24)
# A callback host that does not resolve in this time is refused rather than left to hang the request.
URL_CHECK_TIMEOUT = 5.0


# --- validation (no database) -----------------------------------------------------------------------


async def check_create(
    payload: SubscriptionCreate, *, settings: Settings, registry: Registry
) -> SubscriptionCreate:
    """The payload with duplicate event types dropped; raises Unprocessable naming the problem."""
    events = _known_events(payload.events, registry)
    _check_filter(payload.filter)
    await _check_url(payload.url, settings)
    return payload.model_copy(update={"events": events})


async def check_update(
    payload: SubscriptionUpdate, *, settings: Settings, registry: Registry
) -> SubscriptionUpdate:
    """The same rules as creation, for the fields being changed."""
    update: dict[str, Any] = {}
    if payload.events is not None:
        update["events"] = _known_events(payload.events, registry)
    _check_filter(payload.filter)
    if payload.url is not None:
        await _check_url(payload.url, settings)
    return payload.model_copy(update=update)


def _known_events(requested: list[str], registry: Registry) -> list[str]:
    unknown = [name for name in requested if name not in registry.event_types]
    if unknown:
        known = ", ".join(sorted(registry.event_types))
        raise Unprocessable(
            f"events: unknown event type {unknown[0]!r}; known types: {known}", code="unknown_event"
        )
    return list(dict.fromkeys(requested))


def _check_filter(document: dict[str, Any] | None) -> None:
    try:
        parse_filter(document)
    except FilterError as exc:
        where = f"filter.{exc.path}" if exc.path else "filter"
        raise Unprocessable(f"{where}: {exc.message}", code="invalid_filter") from None


async def _check_url(url: str, settings: Settings) -> None:
    check = ssrf.check_url(url, allow_private=settings.allow_private_callbacks)
    try:
        await asyncio.wait_for(check, URL_CHECK_TIMEOUT)
    except ssrf.UnsafeURLError as exc:
        raise Unprocessable(f"url: {exc}", code="invalid_url") from None
    except TimeoutError:
        raise Unprocessable(
            f"url: the host did not resolve within {URL_CHECK_TIMEOUT:g} seconds", code="invalid_url"
        ) from None


# --- storage ------------------------------------------------------------------------------------------


async def create(conn: AsyncConnection, payload: SubscriptionCreate) -> SubscriptionWithSecret:
    """Store a checked subscription with a fresh secret; the answer is the only time it is shown."""
    now = clock.utc_now()
    row = await repository.insert_one(
        conn,
        {
            "id": ids.new_id("sub"),
            "url": payload.url,
            "events": payload.events,
            "filter": payload.filter,
            "description": payload.description,
            "enabled": payload.enabled,
            "secret": signing.new_secret(),
            "created_at": now,
            "updated_at": now,
        },
    )
    return _with_secret(row, now)


async def get(conn: AsyncConnection, subscription_id: str) -> SubscriptionRead:
    return _read(await _get_or_404(conn, subscription_id), clock.utc_now())


async def list_page(conn: AsyncConnection, page: PageRequest) -> SubscriptionList:
    rows = await repository.list_before(conn, page.before, page.limit + 1)
    now = clock.utc_now()
    items, next_cursor = page_of(rows, page, lambda row: str(row.id))
    return SubscriptionList(items=[_read(row, now) for row in items], next_cursor=next_cursor)


async def update(
    conn: AsyncConnection, subscription_id: str, payload: SubscriptionUpdate
) -> SubscriptionRead:
    """Apply the fields that were sent; ``updated_at`` always moves forward."""
    current = await _get_or_404(conn, subscription_id, for_update=True)
    values = payload.model_dump(include=payload.model_fields_set)
    values["updated_at"] = _later_than(current.updated_at)
    return _read(await repository.update_one(conn, subscription_id, values), values["updated_at"])


async def delete(conn: AsyncConnection, subscription_id: str) -> None:
    """Delete the subscription and, with it, its deliveries and their attempts.

    An attempt in flight at that moment is not recorded: the worker drops outcomes for deliveries
    that no longer exist.
    """
    await _get_or_404(conn, subscription_id, for_update=True)
    await repository.delete_one(conn, subscription_id)


async def rotate_secret(conn: AsyncConnection, subscription_id: str) -> SubscriptionWithSecret:
    """A new secret; the current one keeps signing alongside it for ``SECRET_OVERLAP``.

    Rotating again within that window drops the oldest secret at once: two secrets at most.
    """
    current = await _get_or_404(conn, subscription_id, for_update=True)
    now = _later_than(current.updated_at)
    values = {
        "secret": signing.new_secret(),
        "previous_secret": current.secret,
        "previous_secret_expires_at": now + SECRET_OVERLAP,
        "updated_at": now,
    }
    return _with_secret(await repository.update_one(conn, subscription_id, values), now)


async def _get_or_404(conn: AsyncConnection, subscription_id: str, *, for_update: bool = False) -> Any:
    row = await repository.get(conn, subscription_id, for_update=for_update)
    if row is None:
        raise _not_found(subscription_id)
    return row


def _not_found(subscription_id: str) -> NotFound:
    return NotFound(f"no subscription {subscription_id!r}")


def _later_than(previous: datetime) -> datetime:
    # The ingest Matcher caches compiled filters by (id, updated_at): two versions of a subscription
    # must never share an updated_at, even when edited twice within one clock tick.
    return max(clock.utc_now(), previous + timedelta(microseconds=1))


def _read(row: Any, now: datetime) -> SubscriptionRead:
    return SubscriptionRead.model_validate(_public_fields(row, now))


def _with_secret(row: Any, now: datetime) -> SubscriptionWithSecret:
    return SubscriptionWithSecret.model_validate({**_public_fields(row, now), "secret": row.secret})


def _public_fields(row: Any, now: datetime) -> dict[str, Any]:
    # Picked by name, so neither secret can reach a response by accident.
    mapping = row._mapping
    fields = {name: mapping[name] for name in SubscriptionRead.model_fields if name in mapping}
    expires = mapping["previous_secret_expires_at"]
    fields["previous_secret_expires_at"] = expires if expires is not None and expires > now else None
    return fields
