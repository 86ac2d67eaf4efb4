"""Bearer-token authentication for everything under ``/api/v1``.

Accepted: ``SWITCHBOARD_API_TOKEN``, and tokens made by ``switchboard api-tokens create``. A refused
request is answered 401 before the route's transaction opens, and writes nothing. Tokens are never logged.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api.deps import get_runtime, transaction
from app.api_token import service as api_token_service

# auto_error=False: the scheme still appears in OpenAPI, but the 401 is ours, in the contract's shape.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="BearerToken",
    bearerFormat="sbt_…",
    description="`SWITCHBOARD_API_TOKEN`, or a token from `switchboard api-tokens create`",
)


def _unauthorized(message: str, challenge: str) -> HTTPException:
    # Rendered by the app's HTTPException handler as {"error": {"code": "unauthorized", ...}}.
    return HTTPException(401, detail=message, headers={"WWW-Authenticate": challenge})


async def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    if credentials is None:
        raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'", "Bearer")
    token = credentials.credentials
    runtime = get_runtime(request)
    configured = runtime.settings.api_token
    if api_token_service.matches_configured(token, configured.get_secret_value() if configured else None):
        return
    # Its own short transaction, finished before the route's opens: on SQLite a second open
    # transaction in the same request would wait on the first one's write lock.
    async with transaction(runtime.engine) as conn:
        if await api_token_service.verify_stored(conn, token):
            return
    raise _unauthorized("invalid bearer token", 'Bearer error="invalid_token"')
