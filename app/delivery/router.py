"""``/api/v1/deliveries``: each event's way to each subscription, with its attempts; manual retry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query

from app.api.deps import Conn, RuntimeDep
from app.api.pagination import PageRequest, pagination
from app.api.schemas import error_responses
from app.delivery import service
from app.delivery.repository import DeliveryStatus
from app.delivery.schemas import DeliveryDetail, DeliveryList, DeliveryRead

router = APIRouter(prefix="/deliveries", tags=["deliveries"])

DeliveryId = Annotated[str, Path(max_length=64, examples=["dlv_01jf3k5v9q0000000000000000"])]


@router.get(
    "",
    response_model=DeliveryList,
    summary="List deliveries, newest first",
    responses=error_responses(422),
)
async def list_deliveries(
    page: Annotated[PageRequest, Depends(pagination("dlv"))],
    conn: Conn,
    subscription_id: Annotated[str | None, Query(max_length=64)] = None,
    event_id: Annotated[str | None, Query(max_length=64)] = None,
    status: DeliveryStatus | None = None,
) -> DeliveryList:
    return await service.list_page(
        conn, page, subscription_id=subscription_id, event_id=event_id, status=status
    )


@router.get(
    "/{delivery_id}",
    response_model=DeliveryDetail,
    summary="Get a delivery with its attempts",
    responses=error_responses(404, 422),
)
async def get_delivery(delivery_id: DeliveryId, conn: Conn) -> DeliveryDetail:
    return await service.get(conn, delivery_id)


@router.post(
    "/{delivery_id}/retry",
    status_code=202,
    response_model=DeliveryRead,
    summary="Retry a delivery now",
    description="A failed delivery (or a pending one waiting for its next try) becomes due now, on a "
    "fresh retry schedule; attempt numbers keep counting. 409 `delivery_succeeded` for a delivery that "
    "already succeeded (replay the event instead: a retry keeps the `webhook-id`, which receivers "
    "deduplicate on), 409 `delivery_in_progress` while a worker is attempting it.",
    responses=error_responses(404, 409, 422),
)
async def retry_delivery(
    delivery_id: DeliveryId, conn: Conn, runtime: RuntimeDep, background: BackgroundTasks
) -> DeliveryRead:
    delivery = await service.retry(conn, delivery_id)
    # Background tasks run after the response, so after the commit: the worker finds the row due.
    background.add_task(runtime.deliveries_created, 1)
    return delivery
