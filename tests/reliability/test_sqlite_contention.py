"""Three processes on one SQLite file: `serve` (with its worker) and two `switchboard worker`s, under load.

SQLite has one writer at a time; the ingest writer, three claimers and three recorders all contend
for it. BEGIN IMMEDIATE plus a busy timeout must turn that into waiting, never into "database is
locked", a 503, or a lost event.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import create_subscription
from tests.processes import Process, Server, env_for, json_records
from tests.receiver import Receiver
from tests.reliability.conftest import Figures, stable_port
from tests.reliability.store import delivery_statuses, stored_message_sids, wait_received
from tests.reliability.traffic import TwilioLikeSender, inbound_sms_batch, statuses

WEBHOOKS = 3000


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_serve_and_two_workers_on_one_sqlite_file_never_lock_out_or_lose_anything(
    database_url: str, engine: AsyncEngine, receiver: Receiver, tmp_path: Path, figures: Figures
) -> None:
    await create_subscription(engine, receiver.url)
    port = stable_port()
    base_url = f"http://127.0.0.1:{port}"
    env = env_for(database_url, SWITCHBOARD_DELIVERY_CONCURRENCY="16")
    processes: list[Process] = [await asyncio.to_thread(Server, env, tmp_path, port=port)]
    processes += [Process(["worker"], env, tmp_path, f"worker-{n}.log") for n in range(2)]
    started = time.monotonic()
    try:
        histories = await TwilioLikeSender(base_url, concurrency=32).send_all(
            inbound_sms_batch(base_url, WEBHOOKS)
        )
        ingest_seconds = time.monotonic() - started
        delivery_seconds = await wait_received(receiver, histories, timeout=120)
        await asyncio.sleep(0.5)  # the last outcomes are recorded just after the callback answers
    finally:
        for process in processes:
            process.terminate()
    logs = [process.log() for process in processes]
    for process in processes:
        process.close()

    tries = statuses(histories.values())
    assert tries == {"200": WEBHOOKS}, tries  # not one 503 (or error) on the way in
    for log in logs:
        assert "database is locked" not in log.lower()
        errors = [r for r in json_records(log) if r.get("level") in ("error", "critical")]
        assert errors == [], errors[:3]
    # The contention really happened: each of the three processes made delivery attempts.
    attempts_by_process = [
        sum(1 for r in json_records(log) if r.get("message") == "delivery attempt") for log in logs
    ]
    assert all(count > 0 for count in attempts_by_process), attempts_by_process
    stored = await stored_message_sids(engine)
    assert set(stored) == set(histories) and max(stored.values()) == 1
    assert await delivery_statuses(engine) == {"succeeded": WEBHOOKS}

    figures["webhooks"] = WEBHOOKS
    figures["attempts_by_process"] = attempts_by_process
    figures["ingest_seconds"] = round(ingest_seconds, 1)
    figures["delivery_catch_up_seconds"] = round(delivery_seconds, 1)
