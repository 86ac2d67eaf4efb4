"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.db import ping

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="200 while the process runs")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="200 when the database answers, else 503", responses={503: {}})
async def readyz(request: Request, response: Response) -> dict[str, str]:
    if await ping(request.app.state.runtime.engine):
        return {"status": "ready"}
    response.status_code = 503
    return {"status": "database unavailable"}
