"""Stopping the worker while it records outcomes: what it recorded or was recording is not lost."""

from __future__ import annotations

import asyncio
import itertools
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
        real_record = queue.record

        async def slow_record(*args: Any) -> None:
            recording.set()
            await asyncio.sleep(0.3)  # the stop arrives now, as the outcomes are being written
            await real_record(*args)

        monkeypatch.setattr(queue, "record", slow_record)
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


async def _claim_ahead(database_url: str, fast: int, **overrides: Any) -> tuple[int, int, list[Any]]:
    """Eight deliveries, a worker of two slots, a receiver that answers the first ``fast`` callbacks at
    once and holds the rest: how many arrived and how many were leased once the slots were held; then
    the rows after a stop."""
    settings = make_settings(database_url, delivery_concurrency=2, **overrides)
    engine = create_engine(settings)
    arrived = itertools.count()
    receiver = await Receiver(delay_for=lambda _: 0 if next(arrived) < fast else 5).start()
    try:
        subscription = await create_subscription(engine, receiver.url)
        await create_pending_deliveries(engine, subscription["id"], 8)
        worker = DeliveryWorker(engine, settings, asyncio.Event(), grace=0.2)
        task = asyncio.create_task(worker.run())
        await receiver.wait_for_arrivals(fast + 2)
        await asyncio.sleep(0.3)  # time for a claim beyond the slots, if there is to be one
        leased = sum(row["locked_by"] is not None for row in await delivery_rows(engine))
        arrivals = receiver.arrivals
        worker.stop()
        await asyncio.wait_for(task, 5)
        rows = await delivery_rows(engine)
    finally:
        await receiver.stop()
        await engine.dispose()
    return arrivals, leased, rows


async def test_while_attempts_finish_the_worker_claims_ahead_and_a_stop_releases_what_it_never_started(
    database_url: str,
) -> None:
    """Claimed ahead, a delivery takes a slot the moment one frees, without waiting for a claim's round
    trips; at a stop, those never started go back at once with the cut-off ones."""
    arrivals, leased, rows = await _claim_ahead(database_url, fast=2)
    assert arrivals == 4  # never more at once than the slots
    assert leased == 4  # two in the slots, two waiting for one
    states = sorted((r["status"], r["locked_by"], r["attempt_count"]) for r in rows)
    assert states == [("pending", None, 0)] * 6 + [("succeeded", None, 1)] * 2


async def test_a_worker_whose_slots_all_wait_on_a_slow_receiver_holds_no_more_than_its_slots(
    database_url: str,
) -> None:
    """Deliveries claimed ahead would wait with the slots while another worker sits idle."""
    arrivals, leased, _ = await _claim_ahead(database_url, fast=0)
    assert (arrivals, leased) == (2, 2)


async def test_no_claim_ahead_when_the_lease_would_not_outlast_two_attempts(database_url: str) -> None:
    """A delivery claimed ahead may wait one attempt for its slot before its own: with a lease shorter
    than two attempts it could run out mid-attempt, and another worker would send it as well."""
    arrivals, leased, _ = await _claim_ahead(database_url, fast=2, delivery_lease=20, delivery_timeout=15)
    assert (arrivals, leased) == (4, 2)
