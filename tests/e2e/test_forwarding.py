"""Forwarding through the real service: subscriptions made over the REST API, events out to callbacks."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks import Webhook

from app import simulate
from tests.conftest import ACCOUNT_SID
from tests.processes import Server, env_for
from tests.receiver import Receiver
from tests.twilio_requests import sign

API_TOKEN = "e2e-api-token"
MESSAGES = "/webhooks/twilio/messages"


async def send_sms(client: httpx.AsyncClient, base_url: str, body: str) -> dict[str, str]:
    params = simulate.message(simulate.Options(account_sid=ACCOUNT_SID, body=body))
    headers = {"X-Twilio-Signature": sign(f"{base_url}{MESSAGES}", params)}
    response = await client.post(f"{base_url}{MESSAGES}", data=params, headers=headers)
    assert response.status_code == 200, response.text
    return params


async def test_subscription_over_the_api_then_signed_webhook_in_and_verified_callback_out(
    database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    server = await asyncio.to_thread(Server, env_for(database_url, SWITCHBOARD_API_TOKEN=API_TOKEN), tmp_path)
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            created = await client.post(
                f"{server.url}/api/v1/subscriptions",
                json={"events": ["messages/message_received"], "url": receiver.url, "filter": {"data.body": {"$contains": "order"}}},
                headers=auth,
            )  # fmt: skip
            assert created.status_code == 201, created.text
            secret = created.json()["secret"]
            sent_at = time.perf_counter()
            await send_sms(client, server.url, "new order #42")
            [request] = await receiver.wait_for(1)
            latency_ms = (time.perf_counter() - sent_at) * 1000
            await send_sms(client, server.url, "just saying hi")  # filtered out
            await asyncio.sleep(0.5)
            deliveries = (await client.get(f"{server.url}/api/v1/deliveries", headers=auth)).json()["items"]
    finally:
        server.terminate()
        server.close()
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["data"]["body"] == "new order #42"
    assert len(receiver.received) == 1
    assert [d["status"] for d in deliveries] == ["succeeded"]
    print(f"webhook sent -> callback received: {latency_ms:.1f} ms")


async def test_a_failed_delivery_is_delivered_by_retry_once_the_callback_is_fixed(
    database_url: str, tmp_path: Path
) -> None:
    broken = await Receiver(status=500).start()
    env = env_for(database_url, SWITCHBOARD_RETRY_SCHEDULE="0.1,0.1", SWITCHBOARD_API_TOKEN=API_TOKEN)
    server = await asyncio.to_thread(Server, env, tmp_path)
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            created = await client.post(
                f"{server.url}/api/v1/subscriptions",
                json={"events": ["messages/message_received"], "url": broken.url},
                headers=auth,
            )
            assert created.status_code == 201, created.text
            await send_sms(client, server.url, "retry me")
            delivery = await _wait_for_status(client, server.url, auth, "failed")
            assert delivery["attempt_count"] == 3 and len(broken.received) == 3
            broken.status = 204  # the callback is fixed
            retried = await client.post(
                f"{server.url}/api/v1/deliveries/{delivery['id']}/retry", headers=auth
            )
            assert retried.status_code == 202, retried.text
            delivery = await _wait_for_status(client, server.url, auth, "succeeded")
            detail = (
                await client.get(f"{server.url}/api/v1/deliveries/{delivery['id']}", headers=auth)
            ).json()
    finally:
        server.terminate()
        server.close()
        await broken.stop()
    assert [a["status_code"] for a in detail["attempts"]] == [500, 500, 500, 204]
    assert len({r.headers["webhook-id"] for r in broken.received}) == 1


async def _wait_for_status(client: httpx.AsyncClient, base: str, auth: dict[str, str], status: str) -> Any:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        items = (await client.get(f"{base}/api/v1/deliveries", headers=auth)).json()["items"]
        if items and items[0]["status"] == status:
            return items[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"delivery never became {status}")
