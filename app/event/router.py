"""``/api/v1/events``: stored events, and replaying them to subscriptions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Path, Query

from app.api.deps import Conn, RuntimeDep
from app.api.pagination import PageRequest, pagination
from app.api.schemas import error_responses
from app.event import service
from app.event.schemas import EventList, EventRead, ReplayRequest, ReplayResult

router = APIRouter(prefix="/events", tags=["events"])

EventId = Annotated[str, Path(max_length=64, examples=["evt_01jf3k5v9q0000000000000000"])]


@router.get(
    "",
    response_model=EventList,
    summary="List events, newest first",
    responses=error_responses(422),
)
async def list_events(
    page: Annotated[PageRequest, Depends(pagination("evt"))],
    conn: Conn,
    event_type: Annotated[
        str | None,
        Query(alias="type", max_length=120, description="Only this type, e.g. messages/message_received"),
    ] = None,
) -> EventList:
    return await service.list_page(conn, page, event_type)


@router.get(
    "/{event_id}",
    response_model=EventRead,
    summary="Get an event",
    responses=error_responses(404, 422),
)
async def get_event(event_id: EventId, conn: Conn) -> EventRead:
    return await service.get(conn, event_id)


@router.post(
    "/{event_id}/replay",
    status_code=202,
    response_model=ReplayResult,
    summary="Deliver an event again",
    description="Creates new pending deliveries (new ids) for the enabled subscriptions whose event types "
    "and filter match the event now, or for `subscription_id` alone: 404 if it does not exist, 422 "
    "`subscription_disabled` or `event_not_wanted` if it is disabled or its types or filter exclude "
    "the event. Earlier deliveries are left as they are.",
    responses=error_responses(400, 404, 422),
)
async def replay_event(
    event_id: EventId,
    conn: Conn,
    runtime: RuntimeDep,
    background: BackgroundTasks,
    body: Annotated[ReplayRequest | None, Body()] = None,
) -> ReplayResult:
    created = await service.replay(conn, event_id, body.subscription_id if body else None)
    # Background tasks run after the response, so after the commit: the worker finds the rows.
    background.add_task(runtime.deliveries_created, len(created))
    return ReplayResult(deliveries=created)
