"""Posting one signed envelope to a callback URL: HTTP only, no database.

aiohttp, chosen by measurement (STYLE.md, same machine, one process): ~3,400 callbacks/s against
~300/s for httpx's default transport. The connection goes through the SSRF guard's connector, which
judges the address actually connected to; redirects are never followed (a 3xx is a failed attempt).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp

from app.delivery import ssrf

EXCERPT_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int | None
    duration_ms: int
    error: str | None
    excerpt: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Sender:
    def __init__(self, *, timeout: float, allow_private: bool, concurrency: int):
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._allow_private = allow_private
        self._concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Sender:
        connector = ssrf.guarded_connector(allow_private=self._allow_private, limit=self._concurrency)
        # trust_env=False: a proxy from the environment would choose the final address, not our guard.
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, trust_env=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Response:
        assert self._session is not None, "use Sender as an async context manager"
        started = time.perf_counter()
        try:
            async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as response:
                excerpt = await response.content.read(EXCERPT_BYTES)
                return Response(
                    status_code=response.status,
                    duration_ms=_elapsed_ms(started),
                    error=_status_error(response),
                    excerpt=excerpt.decode("utf-8", errors="replace") or None,
                )
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ssrf.ForbiddenAddressError):
                reason = f"refused by the SSRF guard: {exc.os_error}"
            else:
                reason = f"cannot connect: {exc.os_error.strerror or exc.os_error}"
            return Response(None, _elapsed_ms(started), reason, None)
        except TimeoutError:
            return Response(None, _elapsed_ms(started), f"timed out after {self._timeout.total:g}s", None)
        except (aiohttp.ClientError, asyncio.IncompleteReadError, OSError, ValueError) as exc:
            return Response(None, _elapsed_ms(started), f"{type(exc).__name__}: {exc}"[:500], None)


def _status_error(response: aiohttp.ClientResponse) -> str | None:
    if 200 <= response.status < 300:
        return None
    if 300 <= response.status < 400:
        return f"HTTP {response.status}: redirect to {response.headers.get('Location', '?')} not followed"
    return f"HTTP {response.status}"


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
