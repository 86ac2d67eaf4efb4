"""Reading deliveries and retrying them by hand."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app import clock
from app.api.pagination import PageRequest, page_of
from app.delivery import repository
from app.delivery.repository import DeliveryStatus
from app.delivery.schemas import AttemptRead, DeliveryDetail, DeliveryList, DeliveryRead
from app.errors import Conflict, NotFound


async def list_page(
    conn: AsyncConnection,
    page: PageRequest,
    *,
    subscription_id: str | None,
    event_id: str | None,
    status: DeliveryStatus | None,
) -> DeliveryList:
    rows = await repository.list_before(
        conn, page.before, page.limit + 1, subscription_id=subscription_id, event_id=event_id, status=status
    )
    items, next_cursor = page_of(rows, page, lambda row: str(row.id))
    return DeliveryList(items=[_read(row) for row in items], next_cursor=next_cursor)


async def get(conn: AsyncConnection, delivery_id: str) -> DeliveryDetail:
    row = await repository.get(conn, delivery_id)
    if row is None:
        raise _not_found(delivery_id)
    attempts = [
        AttemptRead.model_validate(a._mapping) for a in await repository.attempts_of(conn, delivery_id)
    ]
    return DeliveryDetail.model_validate({**_fields(row), "attempts": attempts})


async def retry(conn: AsyncConnection, delivery_id: str) -> DeliveryRead:
    """Due now, on a fresh retry schedule. A failed delivery, or a pending one waiting for its next try.

    A succeeded delivery is refused (409): a retry reuses its ``webhook-id``, which receivers that
    deduplicate would drop; replaying the event makes a new delivery instead.
    """
    row = await repository.retry_now(conn, delivery_id, clock.utc_now())
    if row is not None:
        await conn.run_sync(repository.notify)
        return _read(row)
    current = await repository.get(conn, delivery_id)
    if current is None:
        raise _not_found(delivery_id)
    if current.status == DeliveryStatus.SUCCEEDED:
        raise Conflict(
            f"delivery {delivery_id!r} already succeeded; replay its event to deliver it again",
            code="delivery_succeeded",
        )
    raise Conflict(f"delivery {delivery_id!r} is being attempted right now", code="delivery_in_progress")


def _not_found(delivery_id: str) -> NotFound:
    return NotFound(f"no delivery {delivery_id!r}")


def _read(row: Any) -> DeliveryRead:
    return DeliveryRead.model_validate(_fields(row))


def _fields(row: Any) -> dict[str, Any]:
    fields = {name: row._mapping[name] for name in DeliveryRead.model_fields}
    if fields["status"] != DeliveryStatus.PENDING:
        # The column is NOT NULL for the due-index; when finished it holds nothing worth showing.
        fields["next_attempt_at"] = None
    return fields
