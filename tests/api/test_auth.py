"""Bearer tokens: the configured one and stored ones are accepted; anything else is 401 and changes nothing."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app import clock
from app.api_token import service as api_token_service
from app.models import api_tokens
from tests.api.conftest import TOKEN, create_subscription, insert_delivery, receive_sms, snapshot
from tests.conftest import AppHarness

# Every route under /api/v1, with real ids so that an authenticated call would succeed (and change things).
ROUTES = [
    ("GET", "/api/v1/triggers", None),
    (
        "POST",
        "/api/v1/subscriptions",
        {"events": ["messages/message_received"], "url": "https://e.example/h"},
    ),
    ("GET", "/api/v1/subscriptions", None),
    ("GET", "/api/v1/subscriptions/{sub}", None),
    ("PATCH", "/api/v1/subscriptions/{sub}", {"enabled": False}),
    ("DELETE", "/api/v1/subscriptions/{sub}", None),
    ("POST", "/api/v1/subscriptions/{sub}/rotate-secret", None),
    ("GET", "/api/v1/events", None),
    ("GET", "/api/v1/events/{evt}", None),
    ("POST", "/api/v1/events/{evt}/replay", {}),
    ("GET", "/api/v1/deliveries", None),
    ("GET", "/api/v1/deliveries/{dlv}", None),
    ("POST", "/api/v1/deliveries/{dlv}/retry", None),
]

BAD_HEADERS = {
    "missing": {},
    "wrong": {"Authorization": "Bearer not-the-token"},
    "empty": {"Authorization": "Bearer "},
    "scheme-only": {"Authorization": "Bearer"},
    "basic-scheme": {"Authorization": f"Basic {TOKEN}"},
    "no-scheme": {"Authorization": TOKEN},
    "prefix-of-token": {"Authorization": f"Bearer {TOKEN[:-1]}"},
    "token-plus-suffix": {"Authorization": f"Bearer {TOKEN}x"},
}


async def _world(api: AppHarness) -> dict[str, str]:
    subscription = await create_subscription(api, url="https://e.example/h")
    event_id = await receive_sms(api)
    delivery_id = await insert_delivery(api.runtime.engine, event_id, subscription["id"], status="failed")
    return {"sub": subscription["id"], "evt": event_id, "dlv": delivery_id}


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
async def test_every_route_refuses_bad_tokens_and_changes_nothing(
    api: AppHarness, method: str, path: str, body: Any
) -> None:
    url = path.format(**await _world(api))
    before = await snapshot(api.runtime.engine)
    api.client.headers.pop("Authorization")
    for name, headers in BAD_HEADERS.items():
        response = await api.client.request(method, url, json=body, headers=headers)
        assert response.status_code == 401, (name, response.text)
        assert response.json()["error"]["code"] == "unauthorized", name
        assert response.headers["www-authenticate"].startswith("Bearer"), name
    assert await snapshot(api.runtime.engine) == before


async def test_configured_token_is_accepted(api: AppHarness) -> None:
    response = await api.client.get("/api/v1/triggers")
    assert response.status_code == 200


async def test_scheme_is_case_insensitive(api: AppHarness) -> None:
    response = await api.client.get("/api/v1/triggers", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200


async def test_without_a_configured_token_only_stored_tokens_work(harness_factory: Any) -> None:
    harness: AppHarness = await harness_factory()
    response = await harness.client.get("/api/v1/triggers", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 401


async def test_stored_token_authenticates_and_only_its_hash_is_kept(harness_factory: Any) -> None:
    harness: AppHarness = await harness_factory()
    async with harness.runtime.engine.begin() as conn:
        token_id, token = await api_token_service.create_token(conn, "ci")
    assert token.startswith("sbt_")

    response = await harness.client.get("/api/v1/triggers", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    [stored] = (await snapshot(harness.runtime.engine))["api_tokens"]
    assert stored["id"] == token_id
    assert stored["name"] == "ci"
    assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(stored)
    assert token.removeprefix("sbt_") not in repr(stored)


async def test_each_created_token_is_different(harness_factory: Any) -> None:
    harness: AppHarness = await harness_factory()
    async with harness.runtime.engine.begin() as conn:
        tokens = {(await api_token_service.create_token(conn, "t"))[1] for _ in range(5)}
    assert len(tokens) == 5


async def test_last_used_at_is_written_at_most_once_a_minute(
    harness_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness: AppHarness = await harness_factory()
    async with harness.runtime.engine.begin() as conn:
        _, token = await api_token_service.create_token(conn, "ci")
    headers = {"Authorization": f"Bearer {token}"}

    async def last_used() -> Any:
        async with harness.runtime.engine.connect() as conn:
            return (await conn.execute(select(api_tokens.c.last_used_at))).scalar_one()

    assert await last_used() is None
    await harness.client.get("/api/v1/triggers", headers=headers)
    first = await last_used()
    assert first is not None

    await harness.client.get("/api/v1/triggers", headers=headers)
    assert await last_used() == first

    later = first + timedelta(minutes=1, seconds=1)
    monkeypatch.setattr(clock, "utc_now", lambda: later)
    await harness.client.get("/api/v1/triggers", headers=headers)
    assert await last_used() == later


async def test_a_refused_request_does_not_touch_stored_tokens(api: AppHarness) -> None:
    async with api.runtime.engine.begin() as conn:
        await api_token_service.create_token(conn, "ci")
    before = await snapshot(api.runtime.engine)
    response = await api.client.get("/api/v1/triggers", headers={"Authorization": "Bearer sbt_guess"})
    assert response.status_code == 401
    assert await snapshot(api.runtime.engine) == before
