"""Two API processes and two workers on one PostgreSQL behave as one service.

Webhooks spread over both APIs (the same MessageSid sent to both is stored once), a subscription
made through one API is visible through the other, every event reaches the callback exactly once,
and every attempt is recorded.
"""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

import httpx
from sqlalchemy import func, select
from standardwebhooks import Webhook

from app import simulate
from app.db import create_engine
from app.models import deliveries, delivery_attempts, events
from tests.conftest import ACCOUNT_SID, _truncate, make_settings
from tests.processes import Process, Server, env_for, json_records
from tests.receiver import Receiver
from tests.twilio_requests import post_signed

MESSAGES = "/webhooks/twilio/messages"
API_TOKEN = "sbt_scale-out-test-token-0123456789abcdef"
DISTINCT = 60  # messages; each is also sent a second time, to the other API, at the same moment


async def test_two_apis_and_two_workers_on_postgresql_are_one_service(
    postgres_url: str, tmp_path: Path
) -> None:
    await _truncate(postgres_url)
    env = env_for(postgres_url, SWITCHBOARD_API_TOKEN=API_TOKEN, SWITCHBOARD_DELIVERY_CONCURRENCY="8")
    receiver = await Receiver(delay=0.005).start()
    processes: list[Process] = []
    engine = create_engine(make_settings(postgres_url))
    try:
        apis = await asyncio.gather(
            *(asyncio.to_thread(Server, env, tmp_path, "--no-worker") for _ in range(2))
        )
        processes.extend(apis)
        processes.extend(Process(["worker"], env, tmp_path, f"worker-{n}.log") for n in range(2))
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        clients = [httpx.AsyncClient(base_url=api.url, headers=auth, timeout=10) for api in apis]
        try:
            created = await clients[0].post(
                "/api/v1/subscriptions", json={"events": ["messages/message_received"], "url": receiver.url}
            )
            assert created.status_code == 201, created.text
            subscription = created.json()
            seen = await clients[1].get(f"/api/v1/subscriptions/{subscription['id']}")
            assert seen.status_code == 200 and seen.json()["url"] == receiver.url

            messages = [
                simulate.message(simulate.Options(account_sid=ACCOUNT_SID, body=f"m{i}"))
                for i in range(DISTINCT)
            ]
            # Each message to one API (alternating) and, concurrently, the same one to the other.
            answers = await asyncio.gather(*(
                post_signed(clients[(i + k) % 2], MESSAGES, params)
                for i, params in enumerate(messages) for k in (0, 1)
            ))  # fmt: skip
            assert [a.status_code for a in answers] == [200] * (2 * DISTINCT)
            await receiver.wait_for(DISTINCT, timeout=60)
            await asyncio.sleep(1.0)  # a second delivery of anything would arrive now
        finally:
            for client in clients:
                await client.aclose()
        async with engine.connect() as conn:
            stored = (await conn.execute(select(func.count()).select_from(events))).scalar_one()
            statuses = dict((await conn.execute(
                select(deliveries.c.status, func.count()).group_by(deliveries.c.status))).all())  # fmt: skip
            attempts = (await conn.execute(select(func.count()).select_from(delivery_attempts))).scalar_one()
    finally:
        for process in processes:  # all at once: they stop side by side, as a deployment's would
            process.popen.terminate()
        exit_codes = [process.popen.wait(15) for process in processes]
        for process in processes:
            process.close()
        await receiver.stop()
        await engine.dispose()

    assert exit_codes == [0, 0, 0, 0]
    assert stored == DISTINCT
    per_id = collections.Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(per_id) == DISTINCT and set(per_id.values()) == {1}, "a delivery arrived twice"
    bodies = sorted(
        Webhook(subscription["secret"]).verify(r.body, r.headers)["data"]["body"] for r in receiver.received
    )
    assert bodies == sorted(f"m{i}" for i in range(DISTINCT))
    assert statuses == {"succeeded": DISTINCT} and attempts == DISTINCT
    # Both APIs took webhooks; every event id in the access logs was stored by exactly one of them.
    logged = [
        [r["event_id"] for r in json_records(api.log()) if r.get("path") == MESSAGES and "event_id" in r]
        for api in apis
    ]
    assert all(logged) and len(set(logged[0]) | set(logged[1])) == DISTINCT
