"""A real local callback server for delivery tests: records what arrives, answers as told, can go down."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived (before any delay)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    status: int = 204
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    # A delay per request (from its body) instead of ``delay``: slow for some callbacks only.
    delay_for: Callable[[bytes], float] | None = None
    arrivals: int = 0  # requests that arrived, counted before any delay (``received``: after it)

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        arrived = Received(request.path, dict(request.headers), body)
        self.arrivals += 1
        async with self._arrived:
            self._arrived.notify_all()
        delay = self.delay_for(body) if self.delay_for is not None else self.delay
        if delay:
            await asyncio.sleep(delay)
        self.received.append(arrived)
        async with self._arrived:
            self._arrived.notify_all()
        return web.Response(
            status=self.status, headers=self.headers, text="ok" if self.status != 204 else None
        )

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # A short shutdown timeout: a handler still in its delay must not hold up ``stop``.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Go down: connections are refused until ``start`` again (same port)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        async def enough() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.received) >= count)

        await asyncio.wait_for(enough(), timeout)
        return self.received

    async def wait_for_arrivals(self, count: int, timeout: float = 10.0) -> None:
        """Until ``count`` requests have arrived, answered or not."""

        async def enough() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: self.arrivals >= count)

        await asyncio.wait_for(enough(), timeout)
