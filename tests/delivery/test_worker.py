"""The delivery worker, in-process against a real local callback server, on both databases."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from standardwebhooks import Webhook

from app import clock, simulate
from app.delivery.signing import new_secret
from app.delivery.worker import DeliveryWorker
from app.models import subscriptions
from tests.conftest import ACCOUNT_SID, AppHarness
from tests.factories import ENVELOPE_KEYS, attempt_rows, create_subscription, delivery_rows
from tests.receiver import Receiver
from tests.twilio_requests import post_signed

MESSAGES = "/webhooks/twilio/messages"
FAST_SCHEDULE = "0.2,0.2,0.2"  # four attempts, 0.2 s apart


async def send_message(harness: AppHarness, body: str = "Hello") -> dict[str, str]:
    params = simulate.message(simulate.Options(account_sid=ACCOUNT_SID, body=body))
    response = await post_signed(harness.client, MESSAGES, params)
    assert response.status_code == 200, response.text
    return params


async def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_event_reaches_the_callback_signed_per_standard_webhooks(
    harness_factory: Any, receiver: Receiver
) -> None:
    harness = await harness_factory(run_worker=True)
    subscription = await create_subscription(harness.runtime.engine, receiver.url)
    params = await send_message(harness, "Hi 👋")
    [request] = await receiver.wait_for(1)
    payload = Webhook(subscription["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "messages/message_received"
    assert payload["data"]["body"] == "Hi 👋"
    assert payload["raw"] == params
    assert payload["id"].startswith("evt_")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("Switchboard/")
    [delivery] = await delivery_rows(harness.runtime.engine)
    assert request.headers["webhook-id"] == delivery["id"]
    await wait_until(lambda: _status_is(harness, "succeeded"))
    [attempt] = await attempt_rows(harness.runtime.engine)
    assert attempt["status_code"] == 204 and attempt["number"] == 1 and attempt["error"] is None


async def _status_is(harness: AppHarness, *statuses: str) -> bool:
    rows = await delivery_rows(harness.runtime.engine)
    return bool(rows) and all(r["status"] in statuses for r in rows)


async def test_only_matching_subscriptions_receive(harness_factory: Any) -> None:
    harness = await harness_factory(run_worker=True)
    servers = [await Receiver().start() for _ in range(4)]
    wanted, filtered, disabled, other_type = servers
    try:
        engine = harness.runtime.engine
        await create_subscription(engine, wanted.url)
        await create_subscription(engine, filtered.url, filter={"data.body": {"$startsWith": "order"}})
        await create_subscription(engine, disabled.url, enabled=False)
        await create_subscription(engine, other_type.url, events=["calls/call_received"])
        await send_message(harness, "order #1")
        await send_message(harness, "hello")
        await wanted.wait_for(2)
        await filtered.wait_for(1)
        await wait_until(lambda: _status_is(harness, "succeeded"))
        assert [r.json()["data"]["body"] for r in filtered.received] == ["order #1"]
        assert disabled.received == [] and other_type.received == []
    finally:
        for server in servers:
            await server.stop()


async def test_callback_down_then_up_delivers_everything(harness_factory: Any) -> None:
    harness = await harness_factory(run_worker=True, retry_schedule="0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3")
    receiver = await Receiver().start()
    await receiver.stop()  # down: connection refused, same port later
    await create_subscription(harness.runtime.engine, receiver.url)
    for i in range(5):
        await send_message(harness, f"m{i}")
    await wait_until(lambda: _attempted(harness, 2))
    await receiver.start()
    try:
        await wait_until(lambda: _status_is(harness, "succeeded"))
        assert sorted(r.json()["data"]["body"] for r in receiver.received) == [f"m{i}" for i in range(5)]
        attempts = await attempt_rows(harness.runtime.engine)
        refused = [a for a in attempts if a["status_code"] is None]
        assert refused and all("cannot connect" in a["error"] for a in refused)
        assert sum(1 for a in attempts if a["status_code"] == 204) == 5
    finally:
        await receiver.stop()


async def _attempted(harness: AppHarness, at_least: int) -> bool:
    rows = await delivery_rows(harness.runtime.engine)
    return bool(rows) and all(r["attempt_count"] >= at_least for r in rows)


async def test_a_callback_failing_forever_ends_failed_after_the_schedule(harness_factory: Any) -> None:
    harness = await harness_factory(run_worker=True, retry_schedule=FAST_SCHEDULE)
    receiver = await Receiver(status=500).start()
    try:
        await create_subscription(harness.runtime.engine, receiver.url)
        await send_message(harness)
        await wait_until(lambda: _status_is(harness, "failed"))
        [delivery] = await delivery_rows(harness.runtime.engine)
        attempts = await attempt_rows(harness.runtime.engine)
        assert delivery["attempt_count"] == 4 and len(attempts) == 4
        assert [a["number"] for a in attempts] == [1, 2, 3, 4]
        assert all(a["status_code"] == 500 and a["error"] == "HTTP 500" for a in attempts)
        assert attempts[0]["response_excerpt"] == "ok"
        assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # same id on every retry
    finally:
        await receiver.stop()


async def test_redirects_are_not_followed(harness_factory: Any) -> None:
    harness = await harness_factory(run_worker=True, retry_schedule="0.2")
    target = await Receiver().start()
    redirector = await Receiver(status=307, headers={"Location": target.url}).start()
    try:
        await create_subscription(harness.runtime.engine, redirector.url)
        await send_message(harness)
        await wait_until(lambda: _status_is(harness, "failed"))
        attempts = await attempt_rows(harness.runtime.engine)
        assert all("not followed" in a["error"] for a in attempts)
        assert target.received == []
    finally:
        await target.stop()
        await redirector.stop()


async def test_ssrf_guard_refuses_private_callbacks_at_connect_time(
    harness_factory: Any, receiver: Receiver
) -> None:
    harness = await harness_factory(run_worker=True, allow_private_callbacks=False, retry_schedule="0.2")
    # Stored directly (the API would refuse it at creation): the connect-time check must hold on its own.
    await create_subscription(harness.runtime.engine, receiver.url)
    await send_message(harness)
    await wait_until(lambda: _status_is(harness, "failed"))
    attempts = await attempt_rows(harness.runtime.engine)
    assert all("SSRF" in a["error"] for a in attempts)
    assert receiver.received == []


async def test_during_rotation_both_secrets_sign(harness_factory: Any, receiver: Receiver) -> None:
    harness = await harness_factory(run_worker=True)
    old = new_secret()
    subscription = await create_subscription(
        harness.runtime.engine,
        receiver.url,
        previous_secret=old,
        previous_secret_expires_at=clock.utc_now() + timedelta(hours=24),
    )
    await send_message(harness)
    [request] = await receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(subscription["secret"]).verify(request.body, request.headers)
    Webhook(old).verify(request.body, request.headers)


async def test_an_expired_previous_secret_no_longer_signs(harness_factory: Any, receiver: Receiver) -> None:
    harness = await harness_factory(run_worker=True)
    await create_subscription(
        harness.runtime.engine,
        receiver.url,
        previous_secret=new_secret(),
        previous_secret_expires_at=clock.utc_now() - timedelta(seconds=1),
    )
    await send_message(harness)
    [request] = await receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 1


async def test_stopping_releases_attempts_still_in_flight(harness_factory: Any) -> None:
    harness = await harness_factory(run_worker=True)
    slow = await Receiver(delay=5).start()
    try:
        await create_subscription(harness.runtime.engine, slow.url)
        await send_message(harness)
        await wait_until(lambda: _locked(harness))
        worker, task = harness.runtime.worker, harness.runtime._worker_task
        worker._grace = 0.2
        worker.stop()
        await asyncio.wait_for(task, 5)
        [delivery] = await delivery_rows(harness.runtime.engine)
        assert delivery["status"] == "pending"
        assert delivery["locked_by"] is None and delivery["locked_until"] is None
        assert await attempt_rows(harness.runtime.engine) == []
        harness.runtime.worker = None  # already stopped
    finally:
        await slow.stop()


async def _locked(harness: AppHarness) -> bool:
    rows = await delivery_rows(harness.runtime.engine)
    return bool(rows) and rows[0]["locked_by"] is not None


async def test_envelope_json_is_compact_keeps_unicode_and_the_envelope_key_order(
    harness_factory: Any, receiver: Receiver
) -> None:
    harness = await harness_factory(run_worker=True)
    await create_subscription(harness.runtime.engine, receiver.url)
    params = await send_message(harness, "naïve ☕")
    [request] = await receiver.wait_for(1)
    assert '"body":"naïve ☕"'.encode() in request.body  # compact and unescaped, from either store
    envelope = json.loads(request.body)
    assert list(envelope) == ENVELOPE_KEYS
    assert envelope["data"]["body"] == "naïve ☕" and envelope["raw"] == params


async def test_deleting_a_subscription_mid_attempt_does_not_stall_the_worker(harness_factory: Any) -> None:
    harness = await harness_factory(run_worker=True)
    slow = await Receiver(delay=1.0).start()
    fast = await Receiver().start()
    try:
        engine = harness.runtime.engine
        doomed = await create_subscription(engine, slow.url)
        await send_message(harness, "first")
        await wait_until(lambda: _locked(harness))
        async with engine.begin() as conn:
            await conn.execute(delete(subscriptions).where(subscriptions.c.id == doomed["id"]))
        await create_subscription(engine, fast.url)
        await send_message(harness, "second")
        await fast.wait_for(1)
        await wait_until(lambda: _status_is(harness, "succeeded"))  # recorded: the recorder is not stuck
        assert await attempt_rows(harness.runtime.engine) != []
    finally:
        await slow.stop()
        await fast.stop()


async def test_a_disabled_subscription_gets_nothing_until_re_enabled(
    harness: AppHarness, receiver: Receiver
) -> None:
    engine = harness.runtime.engine
    subscription = await create_subscription(engine, receiver.url)
    await send_message(harness, "made while enabled")  # no worker yet: the delivery waits, pending
    await set_enabled(engine, subscription["id"], False)
    wake = asyncio.Event()
    worker = DeliveryWorker(engine, harness.runtime.settings, wake)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(1.5)  # more than one poll interval
        assert receiver.received == []
        [delivery] = await delivery_rows(engine)
        assert delivery["status"] == "pending" and delivery["attempt_count"] == 0
        await set_enabled(engine, subscription["id"], True)
        wake.set()
        [request] = await receiver.wait_for(1)
        assert request.json()["data"]["body"] == "made while enabled"
    finally:
        worker.stop()
        await task


async def set_enabled(engine: Any, subscription_id: str, enabled: bool) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(subscriptions).where(subscriptions.c.id == subscription_id).values(enabled=enabled)
        )
