"""The ASGI application: the webhook ingress in front of the FastAPI app (API, probes, docs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from app import health
from app.access import AccessMiddleware
from app.action.router import router as action_router
from app.api.router import router as api_router
from app.config import Settings, load_settings
from app.errors import AppError
from app.inbound.ingress import WebhookIngress
from app.runtime import Runtime, load_registry

_TAGS = [
    {"name": "triggers", "description": "The events the connector definitions declare."},
    {"name": "subscriptions", "description": "Automations' callbacks: which events, where, signed how."},
    {"name": "events", "description": "Every accepted webhook, as stored and forwarded."},
    {"name": "deliveries", "description": "Each event's way to each subscription, attempt by attempt."},
    {"name": "actions", "description": "Act on Twilio: send SMS or WhatsApp, place a call, any API request."},
    {"name": "resources", "description": "Twilio's resources: list, read, create, update and delete."},
    {"name": "operations", "description": "Probes and Prometheus metrics (no token: see docs/deploy.md)."},
]
_HTTP_CODES = {
    400: "bad_request",  # FastAPI's answer to a body it cannot read at all (JSON that is not UTF-8)
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def create_app(settings: Settings | None = None, *, run_worker: bool = True) -> WebhookIngress:
    settings = settings or load_settings()
    runtime = Runtime(settings, load_registry(settings), run_worker=run_worker)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    api = FastAPI(
        title="Switchboard",
        version=_version(),
        summary="Twilio webhooks in, verified and stored; signed, retried deliveries out.",
        lifespan=lifespan,
        openapi_tags=_TAGS,
    )
    api.state.runtime = runtime
    api.add_middleware(AccessMiddleware)  # webhooks are logged and counted by the ingress itself
    _install_error_handlers(api)
    api.include_router(health.router)
    api.include_router(api_router)
    api.include_router(action_router)
    return WebhookIngress(api, runtime.registry, settings, lambda: runtime.writer)


def _install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @api.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in err['loc'])}: {str(err['msg']).removeprefix('Value error, ')}"
            for err in exc.errors()
        ]
        body = {"error": {"code": "invalid_request", "message": "; ".join(problems)}}
        return JSONResponse(body, status_code=422)

    @api.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return JSONResponse(
            {"error": {"code": code, "message": str(exc.detail)}},
            status_code=exc.status_code,
            headers=exc.headers,
        )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("switchboard")
    except PackageNotFoundError:
        return "0.0.0"
