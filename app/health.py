"""Liveness and readiness probes, and the Prometheus scrape.

None of them asks for the API token: orchestrators and scrapers call them without credentials, and
they reveal no event, subscription or secret (only counts and timings). Keep them off the public
internet at the proxy if even that is too much (docs/deploy.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app import metrics
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


@router.get(
    "/metrics",
    summary="Prometheus text: webhooks, events, deliveries, queue depth and age, latencies",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def prometheus_metrics(request: Request) -> Response:
    body = await metrics.render(request.app.state.runtime.queue_probe)
    return Response(body, media_type=metrics.CONTENT_TYPE)
