"""Subscriptions: create, read, change, delete, rotate the secret; every input validated up front."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app import clock
from app.delivery import ssrf
from app.models import subscriptions
from app.subscription import service as subscription_service
from tests.api.conftest import (
    AUTH,
    CALLBACK,
    collect_pages,
    create_subscription,
    insert_delivery,
    receive_sms,
    snapshot,
)
from tests.conftest import AppHarness

SUBSCRIPTIONS = "/api/v1/subscriptions"


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def stored_row(api: AppHarness, subscription_id: str) -> dict[str, Any]:
    async with api.runtime.engine.connect() as conn:
        statement = select(subscriptions).where(subscriptions.c.id == subscription_id)
        return dict((await conn.execute(statement)).one()._mapping)


# --- create ------------------------------------------------------------------------------------------


async def test_create_returns_the_subscription_with_its_secret(api: AppHarness) -> None:
    body = {
        "events": ["messages/message_received", "messages/message_status"],
        "url": CALLBACK,
        "filter": {"data.body": {"$startsWith": "STOP"}},
        "description": "opt-outs",
    }
    response = await api.client.post(SUBSCRIPTIONS, json=body)

    assert response.status_code == 201
    created = response.json()
    assert created["id"].startswith("sub_")
    assert created["secret"].startswith("whsec_")
    assert {k: created[k] for k in body} == body
    assert created["enabled"] is True
    assert created["created_at"] == created["updated_at"]
    assert created["created_at"].endswith("Z")
    assert created["previous_secret_expires_at"] is None
    assert (await stored_row(api, created["id"]))["secret"] == created["secret"]


async def test_optional_fields_default(api: AppHarness) -> None:
    created = await create_subscription(api)
    assert created["filter"] is None
    assert created["description"] is None
    assert created["enabled"] is True


async def test_can_be_created_disabled(api: AppHarness) -> None:
    created = await create_subscription(api, enabled=False)
    assert created["enabled"] is False


async def test_repeated_event_types_are_stored_once(api: AppHarness) -> None:
    events = ["messages/message_received", "calls/call_received", "messages/message_received"]
    created = await create_subscription(api, events=events)
    assert created["events"] == ["messages/message_received", "calls/call_received"]


async def test_get_and_list_never_show_secrets(api: AppHarness) -> None:
    created = await create_subscription(api)
    await api.client.post(f"{SUBSCRIPTIONS}/{created['id']}/rotate-secret")

    one = (await api.client.get(f"{SUBSCRIPTIONS}/{created['id']}")).json()
    listed = (await api.client.get(SUBSCRIPTIONS)).json()["items"]

    for shown in (one, listed[0]):
        assert "secret" not in shown
        assert "previous_secret" not in shown
        assert "whsec_" not in repr(shown)
    assert one["id"] == created["id"]


async def test_get_unknown_is_404(api: AppHarness) -> None:
    response = await api.client.get(f"{SUBSCRIPTIONS}/sub_nope")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "no subscription 'sub_nope'"}}


# --- validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"events": [], "url": CALLBACK}, "body.events"),
        ({"url": CALLBACK}, "body.events"),
        ({"events": ["messages/message_received"]}, "body.url"),
        ({"events": "messages/message_received", "url": CALLBACK}, "body.events"),
        ({"events": ["messages/message_received"], "url": CALLBACK, "filter": [1]}, "body.filter"),
        ({"events": ["messages/message_received"], "url": CALLBACK, "filters": {}}, "body.filters"),
        ({"events": ["messages/message_received"], "url": CALLBACK, "enabled": "maybe"}, "body.enabled"),
        ({"events": ["messages/message_received"], "url": "x" * 3000}, "body.url"),
    ],
    ids=["no-events", "events-missing", "url-missing", "events-not-a-list", "filter-not-an-object",
         "unknown-key", "enabled-not-bool", "url-too-long"],
)  # fmt: skip
async def test_malformed_bodies_are_422(api: AppHarness, body: dict[str, Any], message: str) -> None:
    response = await api.client.post(SUBSCRIPTIONS, json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert message in response.json()["error"]["message"]
    assert (await snapshot(api.runtime.engine))["subscriptions"] == []


async def test_unknown_event_type_is_422_naming_it(api: AppHarness) -> None:
    events = ["messages/message_received", "messages/message_exploded"]
    response = await api.client.post(SUBSCRIPTIONS, json={"events": events, "url": CALLBACK})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_event"
    assert "'messages/message_exploded'" in error["message"]
    assert "messages/message_status" in error["message"]  # the known types are listed
    assert (await snapshot(api.runtime.engine))["subscriptions"] == []


@pytest.mark.parametrize(
    ("filter_", "path"),
    [
        ({"data.body": {"$in": "x"}}, "filter.data.body.$in: '$in' takes a non-empty list"),
        ({"$or": [{"data.body": "a"}, {"raw.To": {"$bogus": 1}}]}, "filter.$or[1].raw.To.$bogus: unknown operator"),
        ({"data": {"body": "x"}}, "filter.data: an object here must hold operators"),
        ({"$and": []}, "filter.$and: '$and' takes a non-empty list"),
        ({"data.body": ["a", "b"]}, "filter.data.body: a list is ambiguous"),
        ({"$gt": 1}, "filter.$gt: '$gt' needs a path"),
    ],
    ids=["in-not-a-list", "nested-unknown-operator", "nested-object", "empty-and", "bare-list", "operator-at-top"],
)  # fmt: skip
async def test_invalid_filter_is_422_naming_the_place(api: AppHarness, filter_: Any, path: str) -> None:
    body = {"events": ["messages/message_received"], "url": CALLBACK, "filter": filter_}
    response = await api.client.post(SUBSCRIPTIONS, json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_filter"
    assert response.json()["error"]["message"].startswith(path)
    assert (await snapshot(api.runtime.engine))["subscriptions"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8:8080/hook",
        "http://[::1]/x",
        "http://2130706433/x",
        "http://localhost:8000/x",
        "http://metadata.google.internal/",
    ],
    ids=["loopback", "metadata", "private", "ipv6-loopback", "decimal-loopback", "localhost", "gcp-metadata"],
)
async def test_callback_to_a_forbidden_address_is_422(harness_factory: Any, url: str) -> None:
    api: AppHarness = await harness_factory(api_token="test-token", allow_private_callbacks=False)
    api.client.headers.update(AUTH)
    response = await api.client.post(
        SUBSCRIPTIONS, json={"events": ["messages/message_received"], "url": url}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_url"
    assert response.json()["error"]["message"].startswith("url: ")
    assert (await snapshot(api.runtime.engine))["subscriptions"] == []


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "not a url", "https://user:pw@example.com/x", "https:///nohost"],
    ids=["ftp", "garbage", "credentials", "no-host"],
)
async def test_malformed_callback_url_is_422_even_when_private_is_allowed(api: AppHarness, url: str) -> None:
    response = await api.client.post(
        SUBSCRIPTIONS, json={"events": ["messages/message_received"], "url": url}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_url"


async def test_private_callback_is_accepted_when_allowed(api: AppHarness) -> None:
    created = await create_subscription(api, url="http://127.0.0.1:9000/hook")
    assert created["url"] == "http://127.0.0.1:9000/hook"


async def test_a_host_that_does_not_resolve_in_time_is_422(
    api: AppHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def slow_check(url: str, *, allow_private: bool) -> None:
        await asyncio.sleep(10)

    monkeypatch.setattr(ssrf, "check_url", slow_check)
    monkeypatch.setattr(subscription_service, "URL_CHECK_TIMEOUT", 0.05)
    response = await api.client.post(SUBSCRIPTIONS, json={"events": ["calls/call_received"], "url": CALLBACK})
    assert response.status_code == 422
    assert "did not resolve within" in response.json()["error"]["message"]


async def test_the_url_is_checked_before_the_transaction_opens(
    api: AppHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A DNS lookup inside the request's transaction would hold SQLite's write lock (and stall webhooks).
    connections_in_use: list[int] = []

    async def recording_check(url: str, *, allow_private: bool) -> None:
        connections_in_use.append(api.runtime.engine.pool.checkedout())

    monkeypatch.setattr(ssrf, "check_url", recording_check)
    created = await create_subscription(api)
    await api.client.patch(f"{SUBSCRIPTIONS}/{created['id']}", json={"url": CALLBACK + "2"})
    assert connections_in_use == [0, 0]


# --- update ------------------------------------------------------------------------------------------


async def test_patch_changes_only_the_fields_sent(api: AppHarness) -> None:
    created = await create_subscription(api, filter={"data.body": "x"}, description="before")
    response = await api.client.patch(f"{SUBSCRIPTIONS}/{created['id']}", json={"description": "after"})
    assert response.status_code == 200
    updated = response.json()
    assert updated["description"] == "after"
    for unchanged in ("events", "url", "filter", "enabled", "created_at"):
        assert updated[unchanged] == created[unchanged], unchanged
    assert "secret" not in updated
    assert (await api.client.get(f"{SUBSCRIPTIONS}/{created['id']}")).json() == updated


async def test_patch_can_change_every_field(api: AppHarness) -> None:
    created = await create_subscription(api)
    change = {
        "events": ["calls/call_status"],
        "url": CALLBACK + "/calls",
        "filter": {"data.status": "completed"},
        "description": "calls",
        "enabled": False,
    }
    updated = (await api.client.patch(f"{SUBSCRIPTIONS}/{created['id']}", json=change)).json()
    assert {k: updated[k] for k in change} == change


async def test_patch_null_clears_filter_and_description(api: AppHarness) -> None:
    created = await create_subscription(api, filter={"data.body": "x"}, description="d")
    response = await api.client.patch(
        f"{SUBSCRIPTIONS}/{created['id']}", json={"filter": None, "description": None}
    )
    assert response.json()["filter"] is None
    assert response.json()["description"] is None


@pytest.mark.parametrize("field", ["events", "url", "enabled"])
async def test_patch_null_for_a_required_field_is_422(api: AppHarness, field: str) -> None:
    created = await create_subscription(api)
    response = await api.client.patch(f"{SUBSCRIPTIONS}/{created['id']}", json={field: None})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(f"body.{field}: may not be null")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"events": ["nope/nothing"]}, "unknown_event"),
        ({"events": []}, "invalid_request"),
        ({"filter": {"data.body": {"$regex": "x"}}}, "invalid_filter"),
        ({"url": "ftp://example.com/"}, "invalid_url"),
        ({"secret": "whsec_mine"}, "invalid_request"),
    ],
    ids=["unknown-event", "no-events", "bad-filter", "bad-url", "secret-not-settable"],
)
async def test_patch_is_validated_like_create(api: AppHarness, change: dict[str, Any], code: str) -> None:
    created = await create_subscription(api)
    before = await snapshot(api.runtime.engine)
    response = await api.client.patch(f"{SUBSCRIPTIONS}/{created['id']}", json=change)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert await snapshot(api.runtime.engine) == before


async def test_patch_unknown_is_404(api: AppHarness) -> None:
    response = await api.client.patch(f"{SUBSCRIPTIONS}/sub_nope", json={"enabled": False})
    assert response.status_code == 404


async def test_patch_moves_updated_at_forward_even_within_one_clock_tick(
    api: AppHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The ingest Matcher caches compiled filters by (id, updated_at): every change must show in it.
    created = await create_subscription(api)
    frozen = parse_time(created["updated_at"])
    monkeypatch.setattr(clock, "utc_now", lambda: frozen)
    seen = [created["updated_at"]]
    for body in ({"description": "a"}, {"filter": {"data.body": "b"}}, {}):
        response = await api.client.patch(f"{SUBSCRIPTIONS}/{created['id']}", json=body)
        seen.append(response.json()["updated_at"])
    assert [parse_time(t) for t in seen] == sorted({parse_time(t) for t in seen})
    assert (await stored_row(api, created["id"]))["updated_at"] == parse_time(seen[-1])


# --- delete ------------------------------------------------------------------------------------------


async def test_delete_removes_the_subscription_and_its_deliveries(api: AppHarness) -> None:
    created = await create_subscription(api)
    kept = await create_subscription(api)
    event_id = await receive_sms(api)  # one pending delivery for each subscription
    await insert_delivery(api.runtime.engine, event_id, created["id"], attempts=2)

    response = await api.client.delete(f"{SUBSCRIPTIONS}/{created['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert (await api.client.get(f"{SUBSCRIPTIONS}/{created['id']}")).status_code == 404
    state = await snapshot(api.runtime.engine)
    assert [row["id"] for row in state["subscriptions"]] == [kept["id"]]
    assert {row["subscription_id"] for row in state["deliveries"]} == {kept["id"]}
    assert state["delivery_attempts"] == []
    assert len(state["events"]) == 1


async def test_delete_while_a_delivery_is_held_by_a_worker_deletes_it(api: AppHarness) -> None:
    created = await create_subscription(api)
    event_id = await receive_sms(api)
    lease = clock.utc_now() + timedelta(seconds=30)
    await insert_delivery(api.runtime.engine, event_id, created["id"], status="pending", locked_until=lease)

    response = await api.client.delete(f"{SUBSCRIPTIONS}/{created['id']}")

    assert response.status_code == 204
    state = await snapshot(api.runtime.engine)
    assert state["subscriptions"] == [] and state["deliveries"] == []


async def test_delete_goes_ahead_once_the_lease_has_run_out(api: AppHarness) -> None:
    created = await create_subscription(api)
    event_id = await receive_sms(api)
    lease = clock.utc_now() - timedelta(seconds=1)
    await insert_delivery(api.runtime.engine, event_id, created["id"], status="pending", locked_until=lease)
    response = await api.client.delete(f"{SUBSCRIPTIONS}/{created['id']}")
    assert response.status_code == 204


async def test_delete_unknown_is_404(api: AppHarness) -> None:
    response = await api.client.delete(f"{SUBSCRIPTIONS}/sub_nope")
    assert response.status_code == 404


# --- rotate-secret -----------------------------------------------------------------------------------


async def test_rotate_secret_keeps_the_old_one_for_24_hours(api: AppHarness) -> None:
    created = await create_subscription(api)
    before = clock.utc_now()

    response = await api.client.post(f"{SUBSCRIPTIONS}/{created['id']}/rotate-secret")

    assert response.status_code == 200
    rotated = response.json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"]
    expires = parse_time(rotated["previous_secret_expires_at"])
    assert before + timedelta(hours=24) <= expires <= clock.utc_now() + timedelta(hours=24)
    assert rotated["updated_at"] > created["updated_at"]
    row = await stored_row(api, created["id"])
    assert row["secret"] == rotated["secret"]
    assert row["previous_secret"] == created["secret"]
    assert row["previous_secret_expires_at"] == expires
    shown = (await api.client.get(f"{SUBSCRIPTIONS}/{created['id']}")).json()
    assert shown["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]


async def test_rotating_twice_retires_the_oldest_secret(api: AppHarness) -> None:
    created = await create_subscription(api)
    first = (await api.client.post(f"{SUBSCRIPTIONS}/{created['id']}/rotate-secret")).json()
    second = (await api.client.post(f"{SUBSCRIPTIONS}/{created['id']}/rotate-secret")).json()
    row = await stored_row(api, created["id"])
    assert row["secret"] == second["secret"]
    assert row["previous_secret"] == first["secret"]
    assert created["secret"] not in (row["secret"], row["previous_secret"])


async def test_an_expired_previous_secret_is_not_shown_as_rotating(
    api: AppHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await create_subscription(api)
    await api.client.post(f"{SUBSCRIPTIONS}/{created['id']}/rotate-secret")
    later = clock.utc_now() + timedelta(hours=25)
    monkeypatch.setattr(clock, "utc_now", lambda: later)
    shown = (await api.client.get(f"{SUBSCRIPTIONS}/{created['id']}")).json()
    assert shown["previous_secret_expires_at"] is None


async def test_rotate_unknown_is_404(api: AppHarness) -> None:
    response = await api.client.post(f"{SUBSCRIPTIONS}/sub_nope/rotate-secret")
    assert response.status_code == 404


# --- list --------------------------------------------------------------------------------------------


async def test_list_pages_newest_first_without_gaps_or_repeats(api: AppHarness) -> None:
    created = [(await create_subscription(api, description=str(i)))["id"] for i in range(7)]
    pages = await collect_pages(api, SUBSCRIPTIONS, limit=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [sid for page in pages for sid in page] == list(reversed(created))


async def test_list_page_that_ends_exactly_has_no_next_cursor(api: AppHarness) -> None:
    for _ in range(3):
        await create_subscription(api)
    body = (await api.client.get(SUBSCRIPTIONS, params={"limit": 3})).json()
    assert len(body["items"]) == 3
    assert body["next_cursor"] is None


async def test_list_cursor_is_stable_while_new_rows_arrive(api: AppHarness) -> None:
    first = [(await create_subscription(api))["id"] for _ in range(4)]
    page = (await api.client.get(SUBSCRIPTIONS, params={"limit": 2})).json()
    await create_subscription(api)  # newer than everything: must not shift the next page
    rest = (await api.client.get(SUBSCRIPTIONS, params={"limit": 2, "cursor": page["next_cursor"]})).json()
    assert [item["id"] for item in page["items"] + rest["items"]] == list(reversed(first))


async def test_list_of_nothing(api: AppHarness) -> None:
    assert (await api.client.get(SUBSCRIPTIONS)).json() == {"items": [], "next_cursor": None}


async def test_deleted_rows_do_not_break_a_cursor(api: AppHarness) -> None:
    ids = [(await create_subscription(api))["id"] for _ in range(5)]
    page = (await api.client.get(SUBSCRIPTIONS, params={"limit": 2})).json()
    await api.client.delete(f"{SUBSCRIPTIONS}/{ids[2]}")  # the first id of the next page
    rest = (await api.client.get(SUBSCRIPTIONS, params={"cursor": page["next_cursor"]})).json()
    assert [item["id"] for item in rest["items"]] == [ids[1], ids[0]]
