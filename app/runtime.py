"""What a running process holds: settings, definitions, the database engine, the event writer and the
HTTP client for Twilio's API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app.action.client import new_http_client
from app.config import Settings
from app.connector.loader import default_connectors_dir
from app.connector.registry import Registry
from app.db import Transactor, create_engine
from app.delivery.worker import DeliveryWorker
from app.event.pruner import Pruner
from app.event.writer import EventWriter
from app.metrics import QueueProbe


def load_registry(settings: Settings) -> Registry:
    """Every definition validated; raises DefinitionError naming file, JSON path and problem."""
    return Registry.from_dir(settings.connectors_path or default_connectors_dir())


@dataclass
class Runtime:
    settings: Settings
    registry: Registry
    run_worker: bool = True  # the in-process delivery worker (`serve` without --no-worker)
    engine: AsyncEngine = field(init=False)
    transactor: Transactor = field(init=False)
    writer: EventWriter = field(init=False)
    worker: DeliveryWorker | None = field(init=False, default=None)
    # One pooled client for every action and query this process sends to Twilio (opened in start()).
    twilio_http: httpx.AsyncClient = field(init=False)
    _worker_task: asyncio.Task[None] | None = field(init=False, default=None)
    # Set whenever this process creates deliveries, so its worker wakes at once instead of polling.
    deliveries_waiting: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    queue_probe: QueueProbe = field(init=False)  # the queue gauges of /metrics
    pruner: Pruner | None = field(init=False, default=None)  # when SWITCHBOARD_RETENTION_DAYS is set

    def __post_init__(self) -> None:
        self.engine = create_engine(self.settings)
        self.transactor = Transactor(self.engine, self.settings)
        self.writer = EventWriter(self.transactor, on_deliveries=self.deliveries_created)
        self.queue_probe = QueueProbe(self.engine)

    def deliveries_created(self, count: int) -> None:
        if count:
            self.deliveries_waiting.set()

    async def start(self) -> None:
        self.twilio_http = new_http_client()
        self.writer.start()
        if self.run_worker:
            self.worker = DeliveryWorker(
                self.engine, self.settings, self.deliveries_waiting, transactor=self.transactor
            )
            self._worker_task = asyncio.create_task(self.worker.run(), name="delivery-worker")
        if self.settings.retention_days:
            self.pruner = Pruner(self.engine, self.settings.retention_days)
            self.pruner.start()

    def begin_shutdown(self) -> None:
        """On SIGTERM, while HTTP requests drain: stop claiming deliveries and pruning right away, so
        the worker's grace period runs alongside the drain instead of after it (app/server.py)."""
        if self.worker is not None:
            self.worker.stop()
        if self.pruner is not None:
            self.pruner.stop_soon()

    async def stop(self) -> None:
        """Finish committing accepted webhooks, let attempts in flight finish, then close the pool."""
        await self.writer.stop()
        if self.worker is not None and self._worker_task is not None:
            self.worker.stop()
            await self._worker_task
        if self.pruner is not None:
            await self.pruner.stop()
        await self.twilio_http.aclose()
        self.transactor.close()
        await self.engine.dispose()
