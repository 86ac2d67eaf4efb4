"""Events: listed and read in the envelope shape of contract section 4, and replayed as new deliveries."""

from __future__ import annotations

from typing import Any

import pytest

from app import simulate
from tests.api.conftest import collect_pages, create_subscription, insert_delivery, receive_sms, snapshot
from tests.conftest import ACCOUNT_SID, AppHarness
from tests.factories import ENVELOPE_KEYS
from tests.twilio_requests import post_signed

EVENTS = "/api/v1/events"
CALL_STATUS = "/webhooks/twilio/calls/status"


async def test_a_webhook_with_a_subscription_stores_the_event_and_its_delivery(api: AppHarness) -> None:
    sub = await create_subscription(api)
    event_id = await receive_sms(api, body="hi")

    # The 200 to Twilio was sent after the commit that stored both (the ingest writer's outbox).
    state = await snapshot(api.runtime.engine)
    [delivery] = state["deliveries"]
    assert (delivery["event_id"], delivery["subscription_id"], delivery["status"]) == (
        event_id,
        sub["id"],
        "pending",
    )


async def test_get_returns_the_envelope(api: AppHarness) -> None:
    params = simulate.message(simulate.Options(account_sid=ACCOUNT_SID, body="Hello"))
    await post_signed(api.client, "/webhooks/twilio/messages", params)
    [event_id] = [e["id"] for e in (await api.client.get(EVENTS)).json()["items"]]

    response = await api.client.get(f"{EVENTS}/{event_id}")

    assert response.status_code == 200
    event = response.json()
    assert list(event) == ENVELOPE_KEYS
    assert event["id"] == event_id
    assert event["type"] == "messages/message_received"
    assert event["connector"] == "twilio"
    assert event["account_sid"] == ACCOUNT_SID
    assert event["signature_valid"] is True
    assert event["raw"] == params
    assert event["data"]["body"] == "Hello"
    assert event["data"]["sid"] == params["MessageSid"]
    # Always microseconds and Z, as the forwarded envelope writes it.
    assert len(event["received_at"]) == len("2026-12-03T18:00:00.123456Z")
    assert event["received_at"].endswith("Z")


async def test_get_unknown_is_404(api: AppHarness) -> None:
    response = await api.client.get(f"{EVENTS}/evt_nope")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "no event 'evt_nope'"}}


async def test_list_pages_newest_first(api: AppHarness) -> None:
    received = [await receive_sms(api, body=f"n{i}") for i in range(7)]
    pages = await collect_pages(api, EVENTS, limit=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [event_id for page in pages for event_id in page] == list(reversed(received))


async def test_list_filters_by_type(api: AppHarness) -> None:
    sms = [await receive_sms(api) for _ in range(3)]
    for sequence, status in enumerate(["ringing", "completed"]):
        params = simulate.call_status(
            simulate.Options(account_sid=ACCOUNT_SID, sid="CA" + "1" * 32, status=status, sequence=sequence)
        )
        assert (await post_signed(api.client, CALL_STATUS, params)).status_code == 200

    pages = await collect_pages(api, EVENTS, limit=2, type="messages/message_received")
    calls = (await api.client.get(EVENTS, params={"type": "calls/call_status"})).json()["items"]
    none = (await api.client.get(EVENTS, params={"type": "calls/call_received"})).json()

    assert [event_id for page in pages for event_id in page] == list(reversed(sms))
    assert [e["data"]["status"] for e in calls] == ["completed", "ringing"]
    assert none == {"items": [], "next_cursor": None}


# --- replay ------------------------------------------------------------------------------------------


async def test_replay_makes_new_deliveries_for_every_matching_enabled_subscription(api: AppHarness) -> None:
    wanted = await create_subscription(api)
    filtered_in = await create_subscription(api, filter={"data.body": {"$startsWith": "STOP"}})
    await create_subscription(api, filter={"data.body": "something else"})
    await create_subscription(api, enabled=False)
    await create_subscription(api, events=["calls/call_received"])
    event_id = await receive_sms(api, body="STOP please")
    original = {d["id"] for d in (await snapshot(api.runtime.engine))["deliveries"]}
    api.runtime.deliveries_waiting.clear()

    response = await api.client.post(f"{EVENTS}/{event_id}/replay")

    assert response.status_code == 202
    created = response.json()["deliveries"]
    state = await snapshot(api.runtime.engine)
    new = [d for d in state["deliveries"] if d["id"] in created]
    assert len(created) == 2
    assert not original & set(created)
    assert {d["subscription_id"] for d in new} == {wanted["id"], filtered_in["id"]}
    assert {(d["event_id"], d["status"], d["attempt_count"]) for d in new} == {(event_id, "pending", 0)}
    assert len(state["deliveries"]) == len(original) + 2
    assert api.runtime.deliveries_waiting.is_set()  # the in-process worker is woken


async def test_replay_leaves_earlier_deliveries_alone(api: AppHarness) -> None:
    sub = await create_subscription(api)
    event_id = await receive_sms(api)
    failed = await insert_delivery(api.runtime.engine, event_id, sub["id"], status="failed", attempts=3)
    before = {d["id"]: d for d in (await snapshot(api.runtime.engine))["deliveries"]}

    await api.client.post(f"{EVENTS}/{event_id}/replay", json={})

    after = {d["id"]: d for d in (await snapshot(api.runtime.engine))["deliveries"]}
    assert after[failed] == before[failed]
    assert len(after) == len(before) + 1


async def test_replay_with_no_matching_subscription_creates_nothing(api: AppHarness) -> None:
    event_id = await receive_sms(api)
    response = await api.client.post(f"{EVENTS}/{event_id}/replay")
    assert response.status_code == 202
    assert response.json() == {"deliveries": []}


async def test_replay_to_one_subscription(api: AppHarness) -> None:
    chosen = await create_subscription(api)
    await create_subscription(api)
    event_id = await receive_sms(api)

    response = await api.client.post(f"{EVENTS}/{event_id}/replay", json={"subscription_id": chosen["id"]})

    assert response.status_code == 202
    [delivery_id] = response.json()["deliveries"]
    [row] = [d for d in (await snapshot(api.runtime.engine))["deliveries"] if d["id"] == delivery_id]
    assert row["subscription_id"] == chosen["id"]


@pytest.mark.parametrize(
    ("subscription", "code"),
    [
        ({"enabled": False}, "subscription_disabled"),
        ({"events": ["calls/call_received"]}, "event_not_wanted"),
        ({"filter": {"data.body": "other"}}, "event_not_wanted"),
    ],
    ids=["disabled", "other-event-type", "filter-excludes"],
)
async def test_replay_to_a_subscription_that_would_not_get_it_is_422(
    api: AppHarness, subscription: dict[str, Any], code: str
) -> None:
    sub = await create_subscription(api, **subscription)
    event_id = await receive_sms(api)
    before = await snapshot(api.runtime.engine)
    response = await api.client.post(f"{EVENTS}/{event_id}/replay", json={"subscription_id": sub["id"]})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert sub["id"] in response.json()["error"]["message"]
    assert await snapshot(api.runtime.engine) == before


async def test_replay_to_an_unknown_subscription_is_404(api: AppHarness) -> None:
    event_id = await receive_sms(api)
    response = await api.client.post(f"{EVENTS}/{event_id}/replay", json={"subscription_id": "sub_nope"})
    assert response.status_code == 404
    assert "sub_nope" in response.json()["error"]["message"]


async def test_replay_of_an_unknown_event_is_404(api: AppHarness) -> None:
    response = await api.client.post(f"{EVENTS}/evt_nope/replay")
    assert response.status_code == 404


async def test_replay_body_with_unknown_keys_is_422(api: AppHarness) -> None:
    event_id = await receive_sms(api)
    response = await api.client.post(f"{EVENTS}/{event_id}/replay", json={"subscription": "sub_x"})
    assert response.status_code == 422
