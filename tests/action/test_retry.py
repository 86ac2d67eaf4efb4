"""The retry policy as a table: what is retried for each method, and how long it waits."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest

from app import clock
from app.action.retry import RetryPolicy, not_processed, parse_retry_after

POLICY = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=8.0, budget=30.0)


@pytest.mark.parametrize(
    ("method", "status", "code", "retried"),
    [
        ("GET", 429, 20429, True), ("POST", 429, 20429, True), ("POST", 429, None, True),
        ("POST", 429, 21611, False), ("GET", 429, 21611, False),
        ("GET", 503, None, True), ("POST", 503, 20503, True), ("DELETE", 503, None, True),
        ("GET", 500, 20500, True), ("POST", 500, 20500, False), ("DELETE", 500, None, False),
        ("GET", 502, None, True), ("POST", 502, None, False), ("GET", 504, None, True), ("POST", 504, None, False),
        ("GET", 400, 20001, False), ("POST", 404, 20404, False), ("GET", 401, 20003, False),
    ],
    ids=["get-429", "post-429", "post-429-no-code", "post-queue-full", "get-queue-full",
         "get-503", "post-503", "delete-503", "get-500", "post-500-may-have-created", "delete-500",
         "get-502", "post-502", "get-504", "post-504", "get-400", "post-404", "get-401"],
)  # fmt: skip
def test_which_answers_are_retried(method: str, status: int, code: int | None, retried: bool) -> None:
    assert POLICY.should_retry_status(method, status, code) is retried


@pytest.mark.parametrize(
    ("method", "sent", "retried"),
    [
        ("GET", False, True),
        ("POST", False, True),
        ("GET", True, True),
        ("POST", True, False),
        ("DELETE", True, False),
    ],
    ids=["get-refused", "post-refused", "get-timeout", "post-timeout-may-have-created", "delete-timeout"],
)
def test_which_transport_failures_are_retried(method: str, sent: bool, retried: bool) -> None:
    assert POLICY.should_retry_transport(method, request_sent=sent) is retried


@pytest.mark.parametrize(
    ("status", "code", "unprocessed"),
    [
        (429, 20429, True),
        (429, None, True),
        (429, 21611, False),
        (503, None, True),
        (500, None, False),
        (400, 21211, False),
    ],
    ids=["rate-limited", "429-no-code", "queue-full", "503", "500", "400"],
)
def test_which_answers_mean_twilio_did_not_act(status: int, code: int | None, unprocessed: bool) -> None:
    assert not_processed(status, code) is unprocessed


@pytest.mark.parametrize(
    ("retry", "low", "high"),
    [(1, 0.25, 0.5), (2, 0.5, 1.0), (3, 1.0, 2.0), (6, 4.0, 8.0), (10, 4.0, 8.0)],
    ids=["first", "second", "third", "capped", "still-capped"],
)
def test_backoff_doubles_with_jitter_up_to_the_cap(retry: int, low: float, high: float) -> None:
    for _ in range(50):
        assert low <= POLICY.backoff(retry) <= high


@pytest.mark.parametrize(
    ("retry", "retry_after", "elapsed", "wait"),
    [(1, 1.0, 0.0, 1.0), (2, 0.0, 5.0, 0.0), (3, 1.0, 0.0, None), (1, 31.0, 0.0, None), (1, 2.0, 29.0, None)],
    ids=[
        "retry-after-honoured",
        "retry-after-zero",
        "attempts-used-up",
        "beyond-budget",
        "budget-nearly-spent",
    ],
)
def test_wait_honours_retry_after_attempts_and_budget(
    retry: int, retry_after: float, elapsed: float, wait: float | None
) -> None:
    assert POLICY.wait(retry, retry_after, elapsed) == wait


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("1", 1.0), (" 2.5 ", 2.5), ("-3", 0.0), ("", None), (None, None), ("soon", None)],
    ids=["seconds", "fraction", "negative", "empty", "absent", "garbage"],
)
def test_parse_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_http_date() -> None:
    when = format_datetime(clock.utc_now() + timedelta(seconds=30), usegmt=True)
    parsed = parse_retry_after(when)
    assert parsed is not None and 25 <= parsed <= 30
