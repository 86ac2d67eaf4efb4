"""Real processes: `switchboard serve`, `simulate` and `worker` as a user runs them, crashes included."""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook

from app import clock, ids
from app.db import create_engine
from app.models import deliveries, delivery_attempts, events
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, make_settings
from tests.factories import create_subscription, delivery_rows
from tests.processes import SWITCHBOARD, Process, Server, env_for, json_records
from tests.receiver import Receiver

MESSAGES = "/webhooks/twilio/messages"


async def simulate(url: str, *args: str, token: str = AUTH_TOKEN) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        SWITCHBOARD, "simulate", "message", "--url", url, "--auth-token", token, "--account-sid", ACCOUNT_SID,
        *args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


def test_readme_run_command_then_simulate_stores_the_event(tmp_path: Path) -> None:
    """The quickstart: `switchboard serve` on its embedded default, then `switchboard simulate message`."""
    env = {"TWILIO_AUTH_TOKEN": AUTH_TOKEN}
    server = Server(env, tmp_path)
    try:
        result = subprocess.run(
            [SWITCHBOARD, "simulate", "message", "--url", f"{server.url}{MESSAGES}", "--body", "Hello ✓"],
            env={**env, "PATH": str(Path(SWITCHBOARD).parent)}, cwd=tmp_path, capture_output=True, text=True,
            timeout=30, check=False,
        )  # fmt: skip
    finally:
        server.terminate()
        server.close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["200 OK", '<?xml version="1.0" encoding="UTF-8"?><Response/>']
    with sqlite3.connect(tmp_path / "switchboard.db") as db:
        [(event_type, data, raw)] = db.execute("SELECT type, data, raw FROM events").fetchall()
    assert event_type == "messages/message_received"
    assert '"body":"Hello ✓"' in data and '"Body":"Hello ✓"' in raw


def test_simulate_with_the_wrong_token_is_refused(tmp_path: Path) -> None:
    server = Server({"TWILIO_AUTH_TOKEN": AUTH_TOKEN}, tmp_path)
    try:
        result = subprocess.run(
            [SWITCHBOARD, "simulate", "call", "--url", f"{server.url}/webhooks/twilio/calls", "--auth-token", "x" * 32],
            cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    finally:
        server.terminate()
        server.close()
    assert result.returncode == 1 and result.stdout.startswith("403 Forbidden")


def test_serve_refuses_to_start_without_an_auth_token(tmp_path: Path) -> None:
    result = subprocess.run([SWITCHBOARD, "serve"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "switchboard: error: TWILIO_AUTH_TOKEN is required when SWITCHBOARD_SIGNATURE_MODE=enforce "
        "(it verifies X-Twilio-Signature)"
    ]


async def test_signed_webhook_in_signed_callback_out(
    database_url: str, engine: AsyncEngine, receiver: Receiver, tmp_path: Path
) -> None:
    subscription = await create_subscription(engine, receiver.url)
    server = await asyncio.to_thread(Server, env_for(database_url), tmp_path)
    try:
        code, output = await simulate(f"{server.url}{MESSAGES}", "--body", "forward me")
        assert code == 0, output
        [request] = await receiver.wait_for(1)
    finally:
        server.terminate()
        server.close()
    payload = Webhook(subscription["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "messages/message_received"
    assert payload["data"]["body"] == "forward me"


async def test_kill_9_between_commit_and_delivery_loses_nothing(
    database_url: str, engine: AsyncEngine, receiver: Receiver, tmp_path: Path
) -> None:
    await create_subscription(engine, receiver.url)
    server = await asyncio.to_thread(Server, env_for(database_url), tmp_path, "--no-worker")
    results = [await simulate(f"{server.url}{MESSAGES}", "--body", f"m{i}") for i in range(10)]
    assert all(code == 0 for code, _ in results)
    server.kill()  # SIGKILL: committed, answered 200, not yet delivered
    server.close()
    assert server.popen.returncode == -9
    assert receiver.received == []
    restarted = await asyncio.to_thread(Server, env_for(database_url), tmp_path)
    try:
        await receiver.wait_for(10, timeout=20)
    finally:
        restarted.terminate()
        restarted.close()
    assert sorted(r.json()["data"]["body"] for r in receiver.received) == sorted(f"m{i}" for i in range(10))
    assert {r["status"] for r in await delivery_rows(engine)} == {"succeeded"}


async def _pending_deliveries(engine: AsyncEngine, url: str, count: int) -> None:
    """``count`` stored events, each with one pending delivery (as ingest would have left them)."""
    subscription = await create_subscription(engine, url)
    now = clock.utc_now()
    event_rows, delivery_rows_ = [], []
    for i in range(count):
        event_id = ids.new_id("evt")
        event_rows.append({
            "id": event_id, "type": "messages/message_received", "connector": "twilio", "account_sid": ACCOUNT_SID,
            "dedupe_key": f"SM{i:032d}", "received_at": now, "signature_valid": True,
            "data": {"sid": f"SM{i:032d}", "body": f"n{i}"}, "raw": {"MessageSid": f"SM{i:032d}"},
        })  # fmt: skip
        delivery_rows_.append({
            "id": ids.new_id("dlv"), "event_id": event_id, "subscription_id": subscription["id"],
            "status": "pending", "attempt_count": 0, "next_attempt_at": now, "created_at": now, "updated_at": now,
        })  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(insert(events), event_rows)
        await conn.execute(insert(deliveries), delivery_rows_)


async def test_three_workers_on_postgresql_share_3000_deliveries_without_repeating_one(
    postgres_url: str, tmp_path: Path
) -> None:
    from tests.conftest import _truncate

    await _truncate(postgres_url)
    engine = create_engine(make_settings(postgres_url))
    receiver = await Receiver().start()
    workers: list[Process] = []
    try:
        await _pending_deliveries(engine, receiver.url, 3000)
        env = env_for(postgres_url, SWITCHBOARD_DELIVERY_CONCURRENCY="32")
        workers = [Process(["worker"], env, tmp_path, f"worker-{n}.log") for n in range(3)]
        await receiver.wait_for(3000, timeout=120)
        await asyncio.sleep(1.0)  # anything delivered twice would arrive now
        async with engine.connect() as conn:
            statuses = dict((await conn.execute(
                select(deliveries.c.status, func.count()).group_by(deliveries.c.status))).all())  # fmt: skip
            attempts = (await conn.execute(select(func.count()).select_from(delivery_attempts))).scalar_one()
            by_worker = (
                await conn.execute(select(func.count(func.distinct(delivery_attempts.c.delivery_id))))
            ).scalar()
        per_id = collections.Counter(r.headers["webhook-id"] for r in receiver.received)
        assert len(per_id) == 3000 and max(per_id.values()) == 1, "a delivery was attempted twice"
        assert statuses == {"succeeded": 3000}
        assert attempts == 3000 and by_worker == 3000
        logs = [w.log() for w in workers]
        assert all("started" in log for log in logs)
    finally:
        for worker in workers:
            worker.terminate()
            worker.close()
        await receiver.stop()
        await engine.dispose()


def _counts_by_worker(logs: list[str]) -> list[int]:
    return [sum(r["message"] == "delivery attempt" for r in json_records(log)) for log in logs]


async def test_the_work_is_actually_shared(postgres_url: str, tmp_path: Path) -> None:
    """Each of three workers makes a share of 600 attempts (no single worker does everything)."""
    from tests.conftest import _truncate

    await _truncate(postgres_url)
    engine = create_engine(make_settings(postgres_url))
    receiver = await Receiver(delay=0.01).start()
    workers: list[Process] = []
    try:
        await _pending_deliveries(engine, receiver.url, 600)
        env = env_for(postgres_url, SWITCHBOARD_DELIVERY_CONCURRENCY="8")
        workers = [Process(["worker"], env, tmp_path, f"share-{n}.log") for n in range(3)]
        await receiver.wait_for(600, timeout=120)
    finally:
        for worker in workers:
            worker.terminate()
        await receiver.stop()
        await engine.dispose()
    counts = _counts_by_worker([w.log() for w in workers])
    for worker in workers:
        worker.close()
    assert sum(counts) == 600 and all(c > 0 for c in counts), counts
