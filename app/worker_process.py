"""The ``switchboard worker`` process: the delivery worker, plus its metrics endpoint and the retention
pruner when configured, all stopped together on SIGTERM or SIGINT.

Stopping: no new claims at once; attempts in flight get the worker's grace (5 s) and the rest is
released for other workers; the pruner stops after its current batch. Then the process exits 0.
"""

from __future__ import annotations

import asyncio
import signal

from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.delivery.worker import DeliveryWorker
from app.event.pruner import Pruner
from app.metrics import QueueProbe
from app.metrics_server import MetricsServer


class StartError(Exception):
    """The process cannot start; the message says why, on one line."""


async def run(
    engine: AsyncEngine, settings: Settings, *, metrics_host: str, metrics_port: int | None
) -> None:
    worker = DeliveryWorker(engine, settings, asyncio.Event())
    pruner = Pruner(engine, settings.retention_days) if settings.retention_days else None
    server = MetricsServer(QueueProbe(engine), metrics_host, metrics_port) if metrics_port else None

    def stop() -> None:
        worker.stop()
        if pruner is not None:
            pruner.stop_soon()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    if server is not None:
        try:
            await server.start()
        except OSError as exc:
            address = f"{metrics_host}:{metrics_port}"
            raise StartError(f"cannot serve metrics on {address}: {exc.strerror}") from None
    if pruner is not None:
        pruner.start()
    try:
        await worker.run()
    finally:
        if pruner is not None:
            await pruner.stop()
        if server is not None:
            await server.stop()
