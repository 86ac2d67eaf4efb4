"""The Twilio client on ``httpx.MockTransport``: error shapes, odd answers, and waits without sleeping."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest

from app.action.client import TwilioClient, TwilioUnreachable, may_have_acted
from app.action.retry import RetryPolicy
from app.errors import AppError, TwilioError

URL = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
Handler = Callable[[httpx.Request], httpx.Response]


def client(
    handler: Handler, waits: list[float] | None = None, policy: RetryPolicy | None = None
) -> TwilioClient:
    async def sleep(seconds: float) -> None:
        if waits is not None:
            waits.append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return TwilioClient(http, account_sid="AC1", auth_token="secret-token", headers={"Accept": "application/json"},
                        policy=policy, sleep=sleep)  # fmt: skip


def answer(status: int, body: object = None, **headers: str) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        content = json.dumps(body).encode() if body is not None else b""
        return httpx.Response(status, content=content, headers=headers)

    return handle


async def test_sends_basic_auth_accept_and_a_form_with_repeated_keys() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": "SM1"})

    response = await client(handle).send(
        "POST", URL, form=[("To", "+1"), ("MediaUrl", "a"), ("MediaUrl", "b")]
    )
    assert (response.status, response.body) == (201, {"sid": "SM1"})
    [request] = seen
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"AC1:secret-token").decode()
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.content == b"To=%2B1&MediaUrl=a&MediaUrl=b"


async def test_get_sends_its_parameters_in_the_query_and_no_body() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"messages": []})

    await client(handle).send("GET", URL, query=[("DateSent<", "2026-01-01"), ("PageSize", "5")])
    assert seen[0].url.query == b"DateSent%3C=2026-01-01&PageSize=5"
    assert seen[0].content == b""
    assert "content-type" not in seen[0].headers


@pytest.mark.parametrize(
    ("body", "message", "code", "more_info"),
    [
        ({"code": 21211, "message": "Invalid 'To'", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400},
         "Invalid 'To'", 21211, "https://www.twilio.com/docs/errors/21211"),
        ({"status": 400, "message": "No code here"}, "No code here", None, None),
        ({"type": "https://www.twilio.com/docs/errors/20001", "title": "Bad request", "status": 400, "code": 20001,
          "detail": "PageSize is too big"}, "PageSize is too big", 20001, "https://www.twilio.com/docs/errors/20001"),
        ({"unexpected": True}, "Bad Request", None, None),
    ],
    ids=["legacy", "legacy-without-code", "rfc-9457", "unknown-shape"],
)  # fmt: skip
async def test_twilio_error_shapes(
    body: object, message: str, code: int | None, more_info: str | None
) -> None:
    with pytest.raises(TwilioError) as caught:
        await client(answer(400, body)).send("GET", URL)
    assert caught.value.status_code == 400
    assert caught.value.body() == {
        "error": {"code": "twilio_error", "message": message, "twilio_code": code, "more_info": more_info}
    }


async def test_a_401_says_whose_credentials_were_refused() -> None:
    with pytest.raises(TwilioError) as caught:
        await client(answer(401, {"code": 20003, "message": "Authenticate", "status": 401})).send("GET", URL)
    assert caught.value.status_code == 401
    assert "TWILIO_AUTH_TOKEN" in caught.value.message
    assert "secret-token" not in caught.value.message


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (answer(302, Location="https://elsewhere.example.com/"), "unexpected 302"),
        (lambda request: httpx.Response(200, text="<Response/>", headers={"Content-Type": "text/xml"}), "not JSON"),
        (lambda request: httpx.Response(500, text="<html>oops</html>"), "500 Internal Server Error and no error details"),
    ],
    ids=["redirect-not-followed", "xml-instead-of-json", "html-500"],
)  # fmt: skip
async def test_answers_that_are_not_twilios_api_are_upstream_unavailable(
    handler: Handler, message: str
) -> None:
    with pytest.raises(TwilioUnreachable, match=message) as caught:
        await client(handler).send("POST", URL)
    assert caught.value.status_code == 502


async def test_waits_follow_retry_after_then_backoff_without_sleeping() -> None:
    answers = iter([answer(429, {"code": 20429}, **{"Retry-After": "7"}), answer(503, {"code": 20503}),
                    answer(201, {"sid": "SM1"})])  # fmt: skip
    waits: list[float] = []
    response = await client(lambda request: next(answers)(request), waits).send("POST", URL)
    assert response.status == 201
    assert waits[0] == 7.0
    assert 0.5 <= waits[1] <= 1.0  # second retry: base 0.5 s doubled, with jitter


async def test_a_refused_connection_is_retried_then_502() -> None:
    calls: list[int] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TwilioUnreachable) as caught:
        await client(refuse, []).send("POST", URL)
    assert len(calls) == 3
    assert not caught.value.request_sent
    assert not may_have_acted(caught.value)


async def test_a_broken_connection_after_sending_a_create_is_not_retried() -> None:
    calls: list[int] = []

    def broken(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.RemoteProtocolError("peer closed", request=request)

    with pytest.raises(TwilioUnreachable) as caught:
        await client(broken, []).send("POST", URL)
    assert len(calls) == 1
    assert may_have_acted(caught.value)


@pytest.mark.parametrize(
    ("error", "acted"),
    [
        (TwilioError(429, "Too Many Requests", 20429, None), False),
        (TwilioError(503, "Service Unavailable", 20503, None), False),
        (TwilioError(429, "SMS queue is full", 21611, None), True),
        (TwilioError(400, "Invalid 'To'", 21211, None), True),
        (TwilioError(500, "Internal Server Error", 20500, None), True),
        (TwilioUnreachable("timeout", request_sent=True), True),
        (TwilioUnreachable("refused", request_sent=False), False),
        (AppError("bug"), True),
    ],
    ids=[
        "rate-limited",
        "unavailable",
        "queue-full",
        "rejected",
        "server-error",
        "timeout",
        "refused",
        "unknown",
    ],
)
def test_may_have_acted(error: AppError, acted: bool) -> None:
    assert may_have_acted(error) is acted
