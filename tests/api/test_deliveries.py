"""Deliveries: listed with filters, read with their attempts, retried by hand."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from app import clock
from app.delivery.repository import NOTIFY_CHANNEL
from tests.api.conftest import (
    collect_pages,
    create_subscription,
    delivery_row,
    insert_delivery,
    receive_sms,
    snapshot,
)
from tests.conftest import AppHarness

DELIVERIES = "/api/v1/deliveries"


async def _event_and_subscription(api: AppHarness) -> tuple[str, str]:
    # The subscription is made after the event, so the ingest writer made no delivery for it.
    event_id = await receive_sms(api)
    sub = await create_subscription(api)
    return event_id, sub["id"]


async def test_get_shows_the_delivery_with_its_attempts_in_order(api: AppHarness) -> None:
    event_id, sub_id = await _event_and_subscription(api)
    delivery_id = await insert_delivery(api.runtime.engine, event_id, sub_id, attempt_count=3, attempts=3)

    response = await api.client.get(f"{DELIVERIES}/{delivery_id}")

    assert response.status_code == 200
    delivery = response.json()
    assert delivery["id"] == delivery_id
    assert (delivery["event_id"], delivery["subscription_id"]) == (event_id, sub_id)
    assert delivery["status"] == "failed"
    assert delivery["attempt_count"] == 3
    assert delivery["next_attempt_at"] is None  # only meaningful while pending
    assert delivery["last_status_code"] == 500
    assert delivery["last_error"] == "HTTP 500"
    assert [a["number"] for a in delivery["attempts"]] == [1, 2, 3]
    assert delivery["attempts"][1] == {
        "number": 2,
        "attempted_at": delivery["last_attempt_at"],
        "status_code": 500,
        "duration_ms": 20,
        "error": "HTTP 500",
        "response_excerpt": "oops 2",
    }


async def test_a_pending_delivery_shows_when_it_is_due(api: AppHarness) -> None:
    event_id, sub_id = await _event_and_subscription(api)
    delivery_id = await insert_delivery(api.runtime.engine, event_id, sub_id, status="pending")
    delivery = (await api.client.get(f"{DELIVERIES}/{delivery_id}")).json()
    assert delivery["next_attempt_at"] is not None
    assert delivery["attempts"] == []


async def test_get_unknown_is_404(api: AppHarness) -> None:
    response = await api.client.get(f"{DELIVERIES}/dlv_nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_list_filters(api: AppHarness) -> None:
    engine = api.runtime.engine
    event_a, event_b = await receive_sms(api), await receive_sms(api)
    sub_a, sub_b = (await create_subscription(api))["id"], (await create_subscription(api))["id"]
    made = {
        "a-a-failed": await insert_delivery(engine, event_a, sub_a, status="failed"),
        "a-b-pending": await insert_delivery(engine, event_a, sub_b, status="pending"),
        "b-a-succeeded": await insert_delivery(engine, event_b, sub_a, status="succeeded"),
        "b-b-failed": await insert_delivery(engine, event_b, sub_b, status="failed"),
    }

    async def listed(**params: Any) -> set[str]:
        response = await api.client.get(DELIVERIES, params=params)
        assert response.status_code == 200
        return {item["id"] for item in response.json()["items"]}

    def named(*names: str) -> set[str]:
        return {made[name] for name in names}

    assert await listed() == set(made.values())
    assert await listed(subscription_id=sub_a) == named("a-a-failed", "b-a-succeeded")
    assert await listed(event_id=event_b) == named("b-a-succeeded", "b-b-failed")
    assert await listed(status="failed") == named("a-a-failed", "b-b-failed")
    assert await listed(status="pending") == named("a-b-pending")
    assert await listed(subscription_id=sub_b, status="failed") == named("b-b-failed")
    assert await listed(subscription_id=sub_a, event_id=event_a, status="pending") == set()
    assert await listed(subscription_id="sub_nope") == set()


@pytest.mark.parametrize("status", ["bogus", "PENDING", ""])
async def test_list_with_an_invalid_status_is_422(api: AppHarness, status: str) -> None:
    response = await api.client.get(DELIVERIES, params={"status": status})
    assert response.status_code == 422
    assert "status" in response.json()["error"]["message"]


async def test_list_pages_newest_first(api: AppHarness) -> None:
    event_id, sub_id = await _event_and_subscription(api)
    made = [await insert_delivery(api.runtime.engine, event_id, sub_id) for _ in range(7)]
    pages = await collect_pages(api, DELIVERIES, limit=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [delivery_id for page in pages for delivery_id in page] == list(reversed(made))


async def test_list_pages_through_a_filter(api: AppHarness) -> None:
    event_id, sub_id = await _event_and_subscription(api)
    failed = []
    for i in range(7):
        failed.append(await insert_delivery(api.runtime.engine, event_id, sub_id, status="failed"))
        await insert_delivery(
            api.runtime.engine, event_id, sub_id, status="succeeded" if i % 2 else "pending"
        )
    pages = await collect_pages(api, DELIVERIES, limit=3, status="failed")
    assert [delivery_id for page in pages for delivery_id in page] == list(reversed(failed))


# --- retry -------------------------------------------------------------------------------------------


async def test_retry_of_a_failed_delivery_makes_it_due_now_on_a_fresh_schedule(api: AppHarness) -> None:
    event_id, sub_id = await _event_and_subscription(api)
    delivery_id = await insert_delivery(api.runtime.engine, event_id, sub_id, attempt_count=8, attempts=8)
    api.runtime.deliveries_waiting.clear()
    before = clock.utc_now()

    response = await api.client.post(f"{DELIVERIES}/{delivery_id}/retry")

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert response.json()["attempt_count"] == 8
    row = await delivery_row(api.runtime.engine, delivery_id)
    assert row["status"] == "pending"
    assert before <= row["next_attempt_at"] <= clock.utc_now()
    assert row["schedule_start"] == 8  # the schedule restarts; attempt numbers go on from 9
    assert row["attempt_count"] == 8
    assert (row["locked_until"], row["locked_by"]) == (None, None)
    assert row["updated_at"] == row["next_attempt_at"]
    assert len((await snapshot(api.runtime.engine))["delivery_attempts"]) == 8
    assert api.runtime.deliveries_waiting.is_set()  # the in-process worker is woken


async def test_retry_of_a_waiting_pending_delivery_brings_it_forward(api: AppHarness) -> None:
    event_id, sub_id = await _event_and_subscription(api)
    delivery_id = await insert_delivery(
        api.runtime.engine, event_id, sub_id, status="pending", attempt_count=2, attempts=2
    )
    response = await api.client.post(f"{DELIVERIES}/{delivery_id}/retry")
    assert response.status_code == 202
    assert (await delivery_row(api.runtime.engine, delivery_id))["schedule_start"] == 2


async def test_retry_of_a_delivery_whose_lease_ran_out_is_allowed(api: AppHarness) -> None:
    event_id, sub_id = await _event_and_subscription(api)
    expired = clock.utc_now() - timedelta(seconds=1)
    delivery_id = await insert_delivery(
        api.runtime.engine, event_id, sub_id, status="pending", locked_until=expired
    )
    response = await api.client.post(f"{DELIVERIES}/{delivery_id}/retry")
    assert response.status_code == 202
    assert (await delivery_row(api.runtime.engine, delivery_id))["locked_by"] is None


@pytest.mark.parametrize(
    ("status", "locked", "code"),
    [("succeeded", False, "delivery_succeeded"), ("pending", True, "delivery_in_progress")],
    ids=["succeeded", "being-attempted"],
)
async def test_retry_is_409_when_it_would_send_twice(
    api: AppHarness, status: str, locked: bool, code: str
) -> None:
    event_id, sub_id = await _event_and_subscription(api)
    lease = clock.utc_now() + timedelta(minutes=1) if locked else None
    delivery_id = await insert_delivery(
        api.runtime.engine, event_id, sub_id, status=status, locked_until=lease
    )
    before = await snapshot(api.runtime.engine)

    response = await api.client.post(f"{DELIVERIES}/{delivery_id}/retry")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == code
    assert await snapshot(api.runtime.engine) == before


async def test_retry_unknown_is_404(api: AppHarness) -> None:
    response = await api.client.post(f"{DELIVERIES}/dlv_nope/retry")
    assert response.status_code == 404


async def test_retry_notifies_workers_in_other_processes(api: AppHarness, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    event_id, sub_id = await _event_and_subscription(api)
    delivery_id = await insert_delivery(api.runtime.engine, event_id, sub_id)
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(make_url(database_url).render_as_string(hide_password=False))
    try:
        await listener.add_listener(NOTIFY_CHANNEL, lambda *args: heard.put_nowait(args[2]))
        response = await api.client.post(f"{DELIVERIES}/{delivery_id}/retry")
        assert response.status_code == 202
        assert await asyncio.wait_for(heard.get(), timeout=5) == NOTIFY_CHANNEL
    finally:
        await listener.close()
