"""Reading stored events and replaying them to subscriptions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from app import clock
from app.api.pagination import PageRequest, page_of
from app.delivery import repository as delivery_repository
from app.errors import NotFound, Unprocessable
from app.event import repository
from app.event.envelope import Event
from app.event.schemas import EventList, EventRead
from app.subscription import matching
from app.subscription import repository as subscription_repository
from app.subscription.matching import Matcher, Target


async def list_page(conn: AsyncConnection, page: PageRequest, event_type: str | None) -> EventList:
    found = await repository.list_before(conn, page.before, page.limit + 1, event_type=event_type)
    items, next_cursor = page_of(found, page, lambda event: event.id)
    return EventList(items=[_read(event) for event in items], next_cursor=next_cursor)


async def get(conn: AsyncConnection, event_id: str) -> EventRead:
    return _read(await _get_or_404(conn, event_id))


async def replay(conn: AsyncConnection, event_id: str, subscription_id: str | None) -> list[str]:
    """New pending deliveries of the event; returns their ids.

    To every enabled subscription that wants it now (its type listed, its filter passing: the same
    rule as at ingestion), or to ``subscription_id`` alone, which must be enabled and want it.
    Earlier deliveries of the event are left as they are: a replay is a new delivery, with a new
    ``webhook-id``, so receivers that deduplicate on it do not drop it.
    """
    event = await _get_or_404(conn, event_id)
    if subscription_id is None:
        targets = Matcher().targets(await conn.run_sync(subscription_repository.enabled_for_matching))
    else:
        targets = [await _chosen_target(conn, subscription_id, event)]
    wanted = matching.pairs([event], targets)
    return await conn.run_sync(delivery_repository.insert_pending, wanted, clock.utc_now())


async def _chosen_target(conn: AsyncConnection, subscription_id: str, event: Event) -> Target:
    row = await subscription_repository.get(conn, subscription_id)
    if row is None:
        raise NotFound(f"no subscription {subscription_id!r}")
    if not row.enabled:
        raise Unprocessable(f"subscription {subscription_id!r} is disabled", code="subscription_disabled")
    if event.type not in row.events:
        raise Unprocessable(
            f"subscription {subscription_id!r} does not subscribe to {event.type!r}",
            code="event_not_wanted",
        )
    targets = Matcher().targets([row])
    if not targets or not targets[0].wants(event):
        raise Unprocessable(
            f"event {event.id!r} does not pass the filter of subscription {subscription_id!r}",
            code="event_not_wanted",
        )
    return targets[0]


async def _get_or_404(conn: AsyncConnection, event_id: str) -> Event:
    event = await repository.get(conn, event_id)
    if event is None:
        raise NotFound(f"no event {event_id!r}")
    return event


def _read(event: Event) -> EventRead:
    return EventRead.model_validate(event.envelope())
