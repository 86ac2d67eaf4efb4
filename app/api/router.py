"""``/api/v1``: every REST route, behind the bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.api.auth import require_token
from app.api.schemas import error_responses
from app.delivery.router import router as delivery_router
from app.event.router import router as event_router
from app.subscription.router import router as subscription_router
from app.trigger.router import router as trigger_router

# Every route may answer 401 (the token) and 503 (the database, which token checks may need too).
router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(require_token)], responses=error_responses(401, 503)
)
router.include_router(trigger_router)
router.include_router(subscription_router)
router.include_router(event_router)
router.include_router(delivery_router)
