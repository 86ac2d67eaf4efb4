"""One structured log line per HTTP request and per delivery attempt."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from app import simulate
from tests.conftest import ACCOUNT_SID, AppHarness
from tests.factories import create_subscription
from tests.receiver import Receiver
from tests.twilio_requests import post_signed

MESSAGES = "/webhooks/twilio/messages"


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "switchboard.access"]


def message() -> dict[str, Any]:
    return simulate.message(simulate.Options(account_sid=ACCOUNT_SID, body="secret body text"))


async def test_a_stored_webhook_logs_its_event_id_and_never_its_query_or_body(
    harness: AppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "switchboard.access")
    response = await post_signed(harness.client, MESSAGES, message(), query="token=abc")
    assert response.status_code == 200
    [record] = access_records(caplog)
    fields = record.__dict__
    assert (fields["method"], fields["path"], fields["status"]) == ("POST", MESSAGES, 200)
    assert fields["event"] == "messages/message_received" and fields["event_id"].startswith("evt_")
    assert isinstance(fields["duration_ms"], float) and fields["client"] == "203.0.113.7"
    assert "token=abc" not in str(fields) and "secret body text" not in str(fields)


async def test_a_duplicate_logs_no_event_id_and_a_rejection_logs_its_reason(
    harness: AppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    params = message()
    await post_signed(harness.client, MESSAGES, params)
    caplog.set_level(logging.INFO, "switchboard.access")
    await post_signed(harness.client, MESSAGES, params)
    await post_signed(harness.client, MESSAGES, params, token="y" * 32)
    duplicate, rejected = access_records(caplog)
    assert duplicate.__dict__["status"] == 200 and "event_id" not in duplicate.__dict__
    assert rejected.__dict__["status"] == 403 and rejected.__dict__["reason"] == "invalid_signature"


async def test_api_requests_are_logged_at_info_and_probes_at_debug(
    harness: AppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "switchboard.access")
    await harness.client.get("/api/v1/triggers")
    await harness.client.get("/healthz")
    api, probe = access_records(caplog)
    assert (api.levelno, api.__dict__["path"], api.__dict__["status"]) == (
        logging.INFO,
        "/api/v1/triggers",
        401,
    )
    assert (probe.levelno, probe.__dict__["path"], probe.__dict__["status"]) == (
        logging.DEBUG,
        "/healthz",
        200,
    )


async def test_each_delivery_attempt_is_one_structured_line(
    harness_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = await Receiver(status=503).start()
    try:
        harness = await harness_factory(run_worker=True, retry_schedule=())
        await create_subscription(harness.runtime.engine, receiver.url)
        caplog.set_level(logging.INFO, "app.delivery.worker")
        await post_signed(harness.client, MESSAGES, message())
        await receiver.wait_for(1)
        for _ in range(100):  # the line follows the answer by a moment
            attempts = [r for r in caplog.records if r.getMessage() == "delivery attempt"]
            if attempts:
                break
            await asyncio.sleep(0.02)
    finally:
        await receiver.stop()
    [record] = attempts
    fields = {k: record.__dict__[k] for k in ("attempt", "status", "status_code", "error")}
    assert fields == {"attempt": 1, "status": "failed", "status_code": 503, "error": "HTTP 503"}
    assert record.levelno == logging.WARNING  # no attempts left: the delivery failed
    assert record.__dict__["delivery_id"].startswith("dlv_") and record.__dict__["event_id"].startswith(
        "evt_"
    )
    assert isinstance(record.__dict__["duration_ms"], int)
