"""``/api/v1/triggers``: what can be subscribed to."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import RegistryDep
from app.trigger import service
from app.trigger.schemas import TriggerList

router = APIRouter(prefix="/triggers", tags=["triggers"])


@router.get(
    "",
    response_model=TriggerList,
    summary="List the events that can be subscribed to",
    description="Every webhook event the loaded connector definitions declare, with its payload fields. "
    "All in one page: `next_cursor` is always null.",
)
async def list_triggers(registry: RegistryDep) -> TriggerList:
    return service.list_all(registry)
