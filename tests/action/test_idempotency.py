"""``Idempotency-Key``: one Twilio request per key, the first answer replayed, conflicts refused."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from app import clock
from app.action.idempotency import fingerprint
from app.action.schemas import SendMessage
from app.models import idempotency_keys
from tests.action.conftest import VALID
from tests.conftest import AppHarness
from tests.fake_twilio import FakeTwilio

SMS = {"to": VALID, "from": VALID, "body": "Hello"}


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def stored(api: AppHarness, value: str) -> dict[str, Any] | None:
    async with api.runtime.engine.connect() as conn:
        row = (await conn.execute(select(idempotency_keys).where(idempotency_keys.c.key == value))).first()
    return dict(row._mapping) if row else None


async def test_a_repeat_returns_the_first_answer_without_calling_twilio(
    api: AppHarness, fake_twilio: FakeTwilio
) -> None:
    first = await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-1"))
    second = await api.client.post(
        "/api/v1/actions/send_sms", json=dict(reversed(SMS.items())), headers=key("k-1")
    )
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert len(fake_twilio.requests) == 1
    assert len(fake_twilio.all("messages")) == 1
    row = await stored(api, "k-1")
    assert row is not None and row["status_code"] == 201 and row["response_body"] == first.json()


async def test_different_keys_are_different_requests(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    first = await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-a"))
    second = await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-b"))
    assert first.json()["data"]["sid"] != second.json()["data"]["sid"]
    assert len(fake_twilio.requests) == 2


async def test_the_same_key_with_another_body_is_409(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-2"))
    response = await api.client.post(
        "/api/v1/actions/send_sms", json={**SMS, "body": "Other"}, headers=key("k-2")
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert len(fake_twilio.requests) == 1


async def test_the_same_key_with_another_action_is_409(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-3"))
    response = await api.client.post("/api/v1/actions/send_whatsapp", json=SMS, headers=key("k-3"))
    assert response.status_code == 409
    assert len(fake_twilio.requests) == 1


async def test_a_concurrent_request_with_the_key_in_flight_is_409(
    api: AppHarness, fake_twilio: FakeTwilio
) -> None:
    # The first request is held in a 1 s Retry-After wait while the second arrives.
    fake_twilio.fail_next(429, headers={"Retry-After": "1"})
    first = asyncio.create_task(api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-4")))
    for _ in range(200):
        if fake_twilio.requests:
            break
        await asyncio.sleep(0.01)
    second = await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-4"))
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_key_in_use"
    assert (await first).status_code == 201
    third = await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-4"))
    assert third.status_code == 201 and third.json() == (await first).json()
    assert [r.status for r in fake_twilio.requests] == [429, 201]


async def test_simultaneous_requests_with_one_key_call_twilio_once(
    api: AppHarness, fake_twilio: FakeTwilio
) -> None:
    answers = await asyncio.gather(
        *(api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-5")) for _ in range(8))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert 201 in statuses and set(statuses) <= {201, 409}
    assert len(fake_twilio.requests) == 1


async def test_a_twilio_rejection_is_remembered(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    body = {**SMS, "to": "+15005550009"}
    first = await api.client.post("/api/v1/actions/send_sms", json=body, headers=key("k-6"))
    second = await api.client.post("/api/v1/actions/send_sms", json=body, headers=key("k-6"))
    assert first.status_code == second.status_code == 400
    assert first.json() == second.json()
    assert second.json()["error"]["twilio_code"] == 21614
    assert len(fake_twilio.requests) == 1


async def test_a_rate_limit_releases_the_key_for_a_retry(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(429, headers={"Retry-After": "0"}, times=3)
    first = await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-7"))
    assert first.status_code == 429
    assert await stored(api, "k-7") is None  # Twilio did not act: the key is free again
    second = await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-7"))
    assert second.status_code == 201
    assert len(fake_twilio.requests) == 4


async def test_a_500_on_a_create_is_remembered(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    # Twilio may have sent the message: repeating under the same key must not send a second one.
    fake_twilio.fail_next(500)
    first = await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-8"))
    second = await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-8"))
    assert first.status_code == second.status_code == 500
    assert len(fake_twilio.requests) == 1


async def test_a_request_that_cannot_be_valid_claims_no_key(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    response = await api.client.post(
        "/api/v1/actions/send_sms", json={"to": VALID, "from": VALID}, headers=key("k-9")
    )
    assert response.status_code == 422
    assert await stored(api, "k-9") is None
    assert (
        await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-9"))
    ).status_code == 201


async def test_a_key_left_pending_by_a_dead_process_says_the_outcome_is_unknown(
    api: AppHarness, fake_twilio: FakeTwilio
) -> None:
    request_hash = fingerprint(
        "send_sms", SendMessage.model_validate(SMS).model_dump(mode="json", by_alias=True)
    )
    async with api.runtime.engine.begin() as conn:
        await conn.execute(
            idempotency_keys.insert().values(
                key="k-10", request_hash=request_hash, status_code=None, response_body=None,
                created_at=clock.utc_now() - timedelta(hours=1),
            )
        )  # fmt: skip
    response = await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-10"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_use"
    assert "never finished" in response.json()["error"]["message"]
    assert fake_twilio.requests == []


async def test_a_key_is_forgotten_after_24_hours(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key("k-11"))
    async with api.runtime.engine.begin() as conn:
        await conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.key == "k-11")
            .values(created_at=clock.utc_now() - timedelta(hours=25))
        )
    again = await api.client.post(
        "/api/v1/actions/send_sms", json={**SMS, "body": "new"}, headers=key("k-11")
    )
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert len(fake_twilio.requests) == 2


async def test_every_action_honours_the_key(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    requests = [
        ("send_whatsapp", SMS),
        ("call_phone", {"to": VALID, "from": VALID, "url": "https://example.com/twiml"}),
        ("api_request", {"method": "POST", "path": "/Queues.json", "params": {"FriendlyName": "Q"}}),
    ]
    for action, body in requests:
        first = await api.client.post(f"/api/v1/actions/{action}", json=body, headers=key(f"every-{action}"))
        second = await api.client.post(f"/api/v1/actions/{action}", json=body, headers=key(f"every-{action}"))
        assert (first.status_code, first.json()) == (second.status_code, second.json()), action
    assert len(fake_twilio.requests) == 3


async def test_a_malformed_key_is_422(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    for bad in ("x" * 256, "has space"):
        response = await api.client.post("/api/v1/actions/send_sms", json=SMS, headers=key(bad))
        assert response.status_code == 422
    assert fake_twilio.requests == []
