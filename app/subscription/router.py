"""``/api/v1/subscriptions``: the automations' callbacks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from app.api.deps import Conn, RegistryDep, SettingsDep
from app.api.pagination import PageRequest, pagination
from app.api.schemas import error_responses
from app.subscription import service
from app.subscription.schemas import (
    SubscriptionCreate,
    SubscriptionList,
    SubscriptionRead,
    SubscriptionUpdate,
    SubscriptionWithSecret,
)

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])

SubscriptionId = Annotated[str, Path(max_length=64, examples=["sub_01jf3k5v9q0000000000000000"])]

_SIGNING_KEY_NOTE = (
    "The signing `secret` is returned only here and by `rotate-secret`; `GET` never shows it. "
    "Lost it? Rotate: the old one keeps signing for 24 hours meanwhile."
)
_VALIDATION_NOTE = (
    "422 codes: `unknown_event` (an event type no definition declares), `invalid_url` (malformed, "
    "or it resolves to a loopback, private, link-local or metadata address and "
    "SWITCHBOARD_ALLOW_PRIVATE_CALLBACKS is off), `invalid_filter` (the message names the place in "
    "the filter), `invalid_request` (the body's shape)."
)


# Validation runs as a dependency, before the transaction opens (see subscription.service).
async def checked_create(
    payload: SubscriptionCreate, settings: SettingsDep, registry: RegistryDep
) -> SubscriptionCreate:
    return await service.check_create(payload, settings=settings, registry=registry)


async def checked_update(
    payload: SubscriptionUpdate, settings: SettingsDep, registry: RegistryDep
) -> SubscriptionUpdate:
    return await service.check_update(payload, settings=settings, registry=registry)


@router.post(
    "",
    status_code=201,
    response_model=SubscriptionWithSecret,
    summary="Create a subscription",
    description=f"{_SIGNING_KEY_NOTE}\n\n{_VALIDATION_NOTE}",
    # 400: a body that cannot be read as JSON at all (not UTF-8); FastAPI answers it before validation.
    responses=error_responses(400, 422),
)
async def create_subscription(
    payload: Annotated[SubscriptionCreate, Depends(checked_create)], conn: Conn
) -> SubscriptionWithSecret:
    return await service.create(conn, payload)


@router.get(
    "",
    response_model=SubscriptionList,
    summary="List subscriptions, newest first",
    description="Without secrets.",
    responses=error_responses(422),
)
async def list_subscriptions(
    page: Annotated[PageRequest, Depends(pagination("sub"))], conn: Conn
) -> SubscriptionList:
    return await service.list_page(conn, page)


@router.get(
    "/{subscription_id}",
    response_model=SubscriptionRead,
    summary="Get a subscription",
    description="Without its secret.",
    responses=error_responses(404, 422),
)
async def get_subscription(subscription_id: SubscriptionId, conn: Conn) -> SubscriptionRead:
    return await service.get(conn, subscription_id)


@router.patch(
    "/{subscription_id}",
    response_model=SubscriptionRead,
    summary="Change a subscription",
    description="Only the fields sent change; `filter` and `description` may be set to null. "
    f"Validated like creation.\n\n{_VALIDATION_NOTE}",
    responses=error_responses(400, 404, 422),
)
async def update_subscription(
    subscription_id: SubscriptionId,
    payload: Annotated[SubscriptionUpdate, Depends(checked_update)],
    conn: Conn,
) -> SubscriptionRead:
    return await service.update(conn, subscription_id, payload)


@router.delete(
    "/{subscription_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a subscription",
    description="Its deliveries, pending or past, are deleted with it.",
    responses=error_responses(404, 422),
)
async def delete_subscription(subscription_id: SubscriptionId, conn: Conn) -> None:
    await service.delete(conn, subscription_id)


@router.post(
    "/{subscription_id}/rotate-secret",
    response_model=SubscriptionWithSecret,
    summary="Rotate the signing secret",
    description="Returns the new `secret`. The previous one keeps signing alongside it (space-separated "
    "`webhook-signature` values) until `previous_secret_expires_at`, 24 hours from now. Rotating again "
    "within that window retires the oldest secret at once.",
    responses=error_responses(404, 422),
)
async def rotate_secret(subscription_id: SubscriptionId, conn: Conn) -> SubscriptionWithSecret:
    return await service.rotate_secret(conn, subscription_id)
