"""Stopping the worker while it records outcomes: what it recorded or was recording is not lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.config import Settings
from app.db import create_engine
from app.delivery import queue
from app.delivery.worker import DeliveryWorker
from tests.conftest import make_settings
from tests.factories import attempt_rows, create_pending_deliveries, create_subscription, delivery_rows
from tests.receiver import Receiver


async def test_a_stop_during_a_flush_waits_for_it_instead_of_dropping_its_outcomes(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGTERM right after the callbacks answered lands while their outcomes are being written:
    cutting that transaction off would leave the deliveries locked, to be sent again after the lease."""
    settings: Settings = make_settings(database_url)
    engine = create_engine(settings)
    receiver = await Receiver().start()
    recording = asyncio.Event()
    try:
        subscription = await create_subscription(engine, receiver.url)
        await create_pending_deliveries(engine, subscription["id"], 3)
        worker = DeliveryWorker(engine, settings, asyncio.Event())
        real_run = worker._transactor.run

        async def slow_record(fn: Any, *args: Any) -> Any:
            if fn is queue.record:
                recording.set()
                await asyncio.sleep(0.3)  # the stop arrives now, as the outcomes are being written
            return await real_run(fn, *args)

        monkeypatch.setattr(worker._transactor, "run", slow_record)
        task = asyncio.create_task(worker.run())
        await receiver.wait_for(3)
        await asyncio.wait_for(recording.wait(), 5)
        worker.stop()
        await asyncio.wait_for(task, 10)
        rows = await delivery_rows(engine)
        attempts = await attempt_rows(engine)
    finally:
        await receiver.stop()
        await engine.dispose()
    assert [(r["status"], r["locked_by"]) for r in rows] == [("succeeded", None)] * 3
    assert len(attempts) == 3
