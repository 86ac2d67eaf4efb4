"""What a running process holds: settings, definitions, the database engine and the event writer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.connector.loader import default_connectors_dir
from app.connector.registry import Registry
from app.db import create_engine
from app.delivery.worker import DeliveryWorker
from app.event.writer import EventWriter


def load_registry(settings: Settings) -> Registry:
    """Every definition validated; raises DefinitionError naming file, JSON path and problem."""
    return Registry.from_dir(settings.connectors_path or default_connectors_dir())


@dataclass
class Runtime:
    settings: Settings
    registry: Registry
    run_worker: bool = True  # the in-process delivery worker (`serve` without --no-worker)
    engine: AsyncEngine = field(init=False)
    writer: EventWriter = field(init=False)
    worker: DeliveryWorker | None = field(init=False, default=None)
    _worker_task: asyncio.Task[None] | None = field(init=False, default=None)
    # Set whenever this process creates deliveries, so its worker wakes at once instead of polling.
    deliveries_waiting: asyncio.Event = field(init=False, default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.engine = create_engine(self.settings)
        self.writer = EventWriter(self.engine, on_deliveries=self.deliveries_created)

    def deliveries_created(self, count: int) -> None:
        if count:
            self.deliveries_waiting.set()

    async def start(self) -> None:
        self.writer.start()
        if self.run_worker:
            self.worker = DeliveryWorker(self.engine, self.settings, self.deliveries_waiting)
            self._worker_task = asyncio.create_task(self.worker.run(), name="delivery-worker")

    async def stop(self) -> None:
        """Finish committing accepted webhooks, let attempts in flight finish, then close the pool."""
        await self.writer.stop()
        if self.worker is not None and self._worker_task is not None:
            self.worker.stop()
            await self._worker_task
        await self.engine.dispose()
