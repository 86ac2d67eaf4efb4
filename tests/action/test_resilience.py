"""When Twilio is slow, limited or gone: bounded retries, honest 502s, and no repeated creates."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from tests.action.conftest import VALID, ApiFactory
from tests.conftest import AppHarness
from tests.fake_twilio import FakeTwilio
from tests.processes import free_port

SMS = {"to": VALID, "from": VALID, "body": "Hello"}


async def test_429_with_retry_after_is_retried_once_then_succeeds(
    api: AppHarness, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_next(429, headers={"Retry-After": "1"}, method="POST")
    started = time.monotonic()
    response = await api.client.post("/api/v1/actions/send_sms", json=SMS)
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.text
    assert len(fake_twilio.requests) == 2
    assert [r.status for r in fake_twilio.requests] == [429, 201]
    assert len(fake_twilio.all("messages")) == 1
    assert 1.0 <= elapsed < 3.0  # Retry-After: 1 was waited, and not much more


async def test_503_on_a_create_is_retried(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(503, headers={"Retry-After": "0"}, method="POST")
    response = await api.client.post("/api/v1/actions/send_sms", json=SMS)
    assert response.status_code == 201
    assert [r.status for r in fake_twilio.requests] == [503, 201]


async def test_500_on_a_create_is_not_retried(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(500, method="POST")
    response = await api.client.post("/api/v1/actions/send_sms", json=SMS)
    assert response.status_code == 500
    assert response.json()["error"] == {
        "code": "twilio_error",
        "message": "Internal Server Error",
        "twilio_code": 20500,
        "more_info": "https://www.twilio.com/docs/errors/20500",
    }
    assert len(fake_twilio.requests) == 1


async def test_500_on_a_read_is_retried(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(500, headers={"Retry-After": "0"}, method="GET")
    response = await api.client.get("/api/v1/resources/messages")
    assert response.status_code == 200
    assert [r.status for r in fake_twilio.requests] == [500, 200]


async def test_retries_are_bounded(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(429, headers={"Retry-After": "0"}, times=5)
    response = await api.client.post("/api/v1/actions/send_sms", json=SMS)
    assert response.status_code == 429
    assert response.json()["error"]["twilio_code"] == 20429
    assert len(fake_twilio.requests) == 3


async def test_a_retry_after_beyond_the_budget_is_not_waited_for(
    api: AppHarness, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_next(429, headers={"Retry-After": "3600"})
    started = time.monotonic()
    response = await api.client.post("/api/v1/actions/send_sms", json=SMS)
    assert response.status_code == 429
    assert time.monotonic() - started < 2
    assert len(fake_twilio.requests) == 1


async def test_an_html_502_from_a_proxy_is_upstream_unavailable(
    api: AppHarness, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_next(502, raw_body=b"<html>Bad Gateway</html>", headers={"Content-Type": "text/html"})
    response = await api.client.post("/api/v1/actions/send_sms", json=SMS)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"
    assert len(fake_twilio.requests) == 1


async def test_twilio_down_is_502_within_the_timeout(
    api_factory: ApiFactory, fake_twilio: FakeTwilio
) -> None:
    api = await api_factory(twilio_api_base_url=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    response = await api.client.post("/api/v1/actions/send_sms", json=SMS)
    elapsed = time.monotonic() - started
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_unavailable"
    assert "cannot reach Twilio (ConnectError) after 3 attempt(s)" in error["message"]
    assert elapsed < 5  # three refused connections and two short backoffs, not the 15 s read timeout
    listing = await api.client.get("/api/v1/resources/messages")
    assert listing.status_code == 502


async def test_a_create_that_times_out_is_502_and_not_repeated(
    api: AppHarness, fake_twilio: FakeTwilio
) -> None:
    api.runtime.twilio_http.timeout = httpx.Timeout(0.3)
    fake_twilio.fail_next(500, delay=2.0, method="POST")
    started = time.monotonic()
    response = await api.client.post("/api/v1/actions/send_sms", json=SMS)
    assert response.status_code == 502
    assert (
        "did not answer in time after 1 attempt(s); it may have received the request"
        in response.json()["error"]["message"]
    )
    assert time.monotonic() - started < 1.5
    assert len(fake_twilio.requests) == 1


async def test_a_read_that_times_out_is_retried(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    api.runtime.twilio_http.timeout = httpx.Timeout(0.3)
    fake_twilio.fail_next(500, delay=2.0, method="GET")
    response = await api.client.get("/api/v1/resources/messages")
    assert response.status_code == 200, response.text
    assert len(fake_twilio.requests) == 2


async def test_the_auth_token_is_never_logged(
    api: AppHarness, fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_twilio.fail_next(429, headers={"Retry-After": "0"})
    await api.client.post("/api/v1/actions/send_sms", json=SMS)
    await api.client.post("/api/v1/actions/send_sms", json={**SMS, "to": "+15005550009"})
    assert caplog.records
    assert all(fake_twilio.auth_token not in record.getMessage() for record in caplog.records)
