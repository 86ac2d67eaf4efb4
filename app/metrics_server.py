"""A small HTTP endpoint for processes that serve no API (``switchboard worker --metrics-port``).

``GET /metrics`` is the same Prometheus text as the API's, and ``GET /healthz`` answers 200 while
the process runs (the container health check). aiohttp, already the delivery client, serves it.
"""

from __future__ import annotations

from aiohttp import web

from app import metrics


class MetricsServer:
    def __init__(self, probe: metrics.QueueProbe, host: str, port: int):
        self._probe = probe
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, _: web.Request) -> web.Response:
        body = await metrics.render(self._probe)
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})
