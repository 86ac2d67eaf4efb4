"""GET /metrics: webhooks received and rejected by reason, events stored, requests, deliveries, the queue.

The counters are per process and live as long as it does, so each test compares before and after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, text

from app import clock, ids, metrics, simulate
from app.delivery import queue
from app.metrics import QueueProbe
from app.models import deliveries, events
from tests.conftest import ACCOUNT_SID, AppHarness
from tests.factories import create_subscription
from tests.receiver import Receiver
from tests.twilio_requests import post_signed

MESSAGES = "/webhooks/twilio/messages"
RECEIVED = {"route": MESSAGES, "event": "messages/message_received"}


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def counter(name: str, **labels: str) -> Callable[[], float]:
    return lambda: value(name, **labels)


def message(**overrides: Any) -> dict[str, Any]:
    return simulate.message(simulate.Options(account_sid=ACCOUNT_SID, **overrides))


async def scrape(harness: AppHarness) -> dict[str, float]:
    response = await harness.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        sample.name + str(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_an_accepted_webhook_is_received_and_stored_then_a_repeat_is_a_duplicate(
    harness: AppHarness,
) -> None:
    received = counter("switchboard_webhooks_received_total", **RECEIVED)
    created = counter("switchboard_events_stored_total", event=RECEIVED["event"], result="created")
    duplicate = counter("switchboard_events_stored_total", event=RECEIVED["event"], result="duplicate")
    latency = counter("switchboard_http_request_duration_seconds_count", route=MESSAGES, method="POST")
    before = (received(), created(), duplicate(), latency())
    params = message()
    assert (await post_signed(harness.client, MESSAGES, params)).status_code == 200
    assert (await post_signed(harness.client, MESSAGES, params)).status_code == 200
    after = (received(), created(), duplicate(), latency())
    assert [b - a for a, b in zip(before, after, strict=True)] == [2, 1, 1, 2]


async def _post_unsigned_body(harness: AppHarness, content: bytes, content_type: str) -> int:
    response = await harness.client.post(MESSAGES, content=content, headers={"Content-Type": content_type})
    return response.status_code


REJECTIONS: list[tuple[str, int, Callable[[AppHarness], Any]]] = [
    ("invalid_signature", 403, lambda h: post_signed(h.client, MESSAGES, message(), token="x" * 32)),
    (
        "wrong_account",
        403,
        lambda h: post_signed(h.client, MESSAGES, {**message(), "AccountSid": "AC" + "9" * 32}),
    ),
    ("payload_too_large", 413, lambda h: post_signed(h.client, MESSAGES, message(body="x" * 70_000))),
    ("unsupported_media_type", 415, lambda h: _post_unsigned_body(h, b"<xml/>", "text/xml")),
    (
        "undecodable_body",
        400,
        lambda h: _post_unsigned_body(h, b"Body=%FF%FE", "application/x-www-form-urlencoded"),
    ),
    ("method_not_allowed", 405, lambda h: h.client.put(MESSAGES, content=b"")),
]


@pytest.mark.parametrize(("reason", "status", "send"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
async def test_a_rejected_webhook_is_counted_by_reason(
    harness: AppHarness, reason: str, status: int, send: Callable[[AppHarness], Any]
) -> None:
    rejected = counter("switchboard_webhooks_rejected_total", **RECEIVED, reason=reason)
    created = counter("switchboard_events_stored_total", event=RECEIVED["event"], result="created")
    before = (rejected(), created())
    answer = await send(harness)
    assert (answer if isinstance(answer, int) else answer.status_code) == status
    assert (rejected() - before[0], created() - before[1]) == (1, 0)


async def test_a_webhook_the_database_cannot_take_counts_as_database_unavailable(harness: AppHarness) -> None:
    rejected = counter("switchboard_webhooks_rejected_total", **RECEIVED, reason="database_unavailable")
    before = rejected()
    await harness.runtime.writer.stop()  # what a store that cannot commit answers: 503
    assert (await post_signed(harness.client, MESSAGES, message())).status_code == 503
    assert rejected() - before == 1


async def test_metrics_need_no_token_and_count_api_requests_by_route_template(harness_factory: Any) -> None:
    harness = await harness_factory(api_token="sbt_" + "t" * 40)
    unknown = ids.new_id("evt")
    assert (
        await harness.client.get(
            f"/api/v1/events/{unknown}", headers={"Authorization": "Bearer sbt_" + "t" * 40}
        )
    ).status_code == 404
    assert (await harness.client.get("/api/v1/events")).status_code == 401
    assert (await harness.client.get("/no/such/path")).status_code == 404
    samples = await scrape(harness)
    key = "switchboard_http_requests_total[('method', 'GET'), ('route', '{}'), ('status', '{}')]"
    assert samples[key.format("/api/v1/events/{event_id}", 404)] >= 1
    assert samples[key.format("/api/v1/events", 401)] >= 1
    assert samples[key.format("unmatched", 404)] >= 1
    assert not any(unknown in name or "/no/such/path" in name for name in samples)


async def _pending(engine: Any, subscription_id: str, due_in: timedelta) -> None:
    now = clock.utc_now()
    event_id = ids.new_id("evt")
    async with engine.begin() as conn:
        await conn.execute(insert(events), {
            "id": event_id, "type": "messages/message_received", "connector": "twilio", "account_sid": ACCOUNT_SID,
            "dedupe_key": event_id, "received_at": now, "signature_valid": True, "data": {}, "raw": {},
        })  # fmt: skip
        await conn.execute(insert(deliveries), {
            "id": ids.new_id("dlv"), "event_id": event_id, "subscription_id": subscription_id, "status": "pending",
            "attempt_count": 0, "next_attempt_at": now + due_in, "created_at": now, "updated_at": now,
        })  # fmt: skip


async def test_queue_depth_and_oldest_age_count_enabled_subscriptions_only(harness: AppHarness) -> None:
    engine = harness.runtime.engine
    enabled = await create_subscription(engine, "https://example.com/a")
    disabled = await create_subscription(engine, "https://example.com/b", enabled=False)
    await _pending(engine, enabled["id"], timedelta(seconds=-120))  # overdue by two minutes
    await _pending(engine, enabled["id"], timedelta(hours=1))  # waiting for its next retry
    await _pending(engine, disabled["id"], timedelta(days=-3))  # held back on purpose: not late
    samples = await scrape(harness)
    assert samples["switchboard_delivery_queue_pending[]"] == 2
    assert 119 <= samples["switchboard_delivery_queue_oldest_age_seconds[]"] < 130


async def test_the_queue_is_read_at_most_once_per_ttl(harness: AppHarness) -> None:
    engine = harness.runtime.engine
    subscription = await create_subscription(engine, "https://example.com/a")
    probe = QueueProbe(engine, ttl=60)
    await probe.refresh()
    await _pending(engine, subscription["id"], timedelta(0))
    await probe.refresh()
    assert value("switchboard_delivery_queue_pending") == 0  # still the first reading
    await QueueProbe(engine, ttl=0).refresh()
    assert value("switchboard_delivery_queue_pending") == 1


async def test_the_queue_query_can_use_the_partial_index(harness: AppHarness) -> None:
    """The literal status predicate is what lets the planners pick ix_deliveries_due."""
    engine = harness.runtime.engine
    async with engine.connect() as conn:
        compiled = (
            queue.stats_query().compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}).string
        )
        explain = "EXPLAIN QUERY PLAN" if conn.dialect.name == "sqlite" else "EXPLAIN"
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET enable_seqscan = off"))  # an empty table: would it use it at all?
        plan = "\n".join(str(row[-1]) for row in (await conn.execute(text(f"{explain} {compiled}"))).all())
    assert "ix_deliveries_due" in plan, plan


async def test_delivery_attempts_are_counted_by_outcome_with_their_latency(
    harness_factory: Any, settings_factory: Any
) -> None:
    receiver = await Receiver().start()
    failing = await Receiver(status=500).start()
    try:
        harness = await harness_factory(run_worker=True, retry_schedule=(0.05,))
        await create_subscription(harness.runtime.engine, receiver.url)
        await create_subscription(harness.runtime.engine, failing.url)
        outcomes = {
            o: counter("switchboard_delivery_attempts_total", outcome=o)
            for o in ("succeeded", "retry_scheduled", "failed")
        }
        attempts = counter("switchboard_delivery_attempt_duration_seconds_count")
        before = {o: c() for o, c in outcomes.items()} | {"timed": attempts()}
        assert (await post_signed(harness.client, MESSAGES, message())).status_code == 200
        await receiver.wait_for(1)
        await failing.wait_for(2)
        await asyncio.sleep(0.2)
        after = {o: c() for o, c in outcomes.items()} | {"timed": attempts()}
    finally:
        await receiver.stop()
        await failing.stop()
    assert {k: after[k] - before[k] for k in after} == {
        "succeeded": 1,
        "retry_scheduled": 1,
        "failed": 1,
        "timed": 3,
    }
