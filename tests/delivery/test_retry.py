"""The retry policy: delays from the schedule with jitter, exhaustion, and parsing the setting."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.delivery.retry import DEFAULT_SCHEDULE, RetryPolicy, parse_schedule

DEFAULT = RetryPolicy()

NEXT_DELAY = [
    # (attempts made, rand(), expected delay) for the default schedule and ±10 % jitter
    pytest.param(1, 0.5, 5.0, id="after-first-attempt-midpoint"),
    pytest.param(1, 0.0, 4.5, id="after-first-attempt-low-edge"),
    pytest.param(1, 0.75, 5.25, id="after-first-attempt-upper-half"),
    pytest.param(2, 0.5, 300.0, id="after-second-attempt"),
    pytest.param(3, 0.0, 1620.0, id="after-third-attempt-low-edge"),
    pytest.param(4, 0.5, 7200.0, id="after-fourth-attempt"),
    pytest.param(5, 0.5, 18000.0, id="after-fifth-attempt"),
    pytest.param(6, 1.0, 39600.0, id="after-sixth-attempt-high-edge"),
    pytest.param(7, 0.5, 36000.0, id="after-seventh-attempt-last-wait"),
    pytest.param(8, 0.5, None, id="after-eighth-attempt-exhausted"),
    pytest.param(50, 0.5, None, id="long-exhausted"),
]


@pytest.mark.parametrize(("attempts_made", "rand", "expected"), NEXT_DELAY)
def test_next_delay(attempts_made: int, rand: float, expected: float | None) -> None:
    delay = DEFAULT.next_delay(attempts_made, rand=lambda: rand)
    assert delay == (None if expected is None else pytest.approx(expected))


def test_default_policy_makes_eight_attempts() -> None:
    assert DEFAULT.schedule == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert DEFAULT.max_attempts == 8


def test_without_jitter_the_delay_is_the_schedule() -> None:
    policy = RetryPolicy(schedule=(1, 2), jitter=0)
    assert [policy.next_delay(n) for n in (1, 2, 3)] == [1, 2, None]


def test_a_single_item_schedule_retries_once() -> None:
    policy = RetryPolicy(schedule=(60,), jitter=0)
    assert policy.max_attempts == 2
    assert policy.next_delay(1) == 60
    assert policy.next_delay(2) is None


@given(
    attempts=st.integers(min_value=1, max_value=7), r=st.floats(min_value=0, max_value=1, exclude_max=True)
)
def test_jitter_stays_within_its_fraction(attempts: int, r: float) -> None:
    base = DEFAULT_SCHEDULE[attempts - 1]
    delay = DEFAULT.next_delay(attempts, rand=lambda: r)
    assert delay is not None
    assert base * 0.9 <= delay <= base * 1.1


def test_next_delay_before_any_attempt_is_an_error() -> None:
    with pytest.raises(ValueError, match="attempts_made"):
        DEFAULT.next_delay(0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"schedule": (5, -1)}, ">= 0", id="negative-delay"),
        pytest.param({"schedule": (float("nan"),)}, "finite", id="nan-delay"),
        pytest.param({"jitter": 1.0}, "jitter", id="jitter-one"),
        pytest.param({"jitter": -0.1}, "jitter", id="negative-jitter"),
    ],
)
def test_invalid_policy_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


PARSED = [
    pytest.param("5,300,1800,7200,18000,36000,36000", DEFAULT_SCHEDULE, id="contract-default"),
    pytest.param("60", (60.0,), id="single"),
    pytest.param(" 5 , 300 ,1800 ", (5.0, 300.0, 1800.0), id="whitespace"),
    pytest.param("0.5,1.5", (0.5, 1.5), id="fractions"),
    pytest.param("0,10", (0.0, 10.0), id="zero"),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parse_schedule(text: str, expected: tuple[float, ...]) -> None:
    assert parse_schedule(text) == expected


INVALID = [
    pytest.param("", "empty", id="empty"),
    pytest.param("   ", "empty", id="blank"),
    pytest.param("5,,300", "item 2 is empty", id="empty-item"),
    pytest.param("5,300,", "item 3 is empty", id="trailing-comma"),
    pytest.param(",5", "item 1 is empty", id="leading-comma"),
    pytest.param("5,-1", r"item 2 \('-1'\) is negative", id="negative"),
    pytest.param("5,abc", r"item 2 \('abc'\) is not a number", id="not-a-number"),
    pytest.param("5m,1h", r"item 1 \('5m'\) is not a number", id="unit-suffix"),
    pytest.param("5;300", r"item 1 \('5;300'\) is not a number", id="wrong-separator"),
    pytest.param("nan", "not a finite number", id="nan"),
    pytest.param("5,inf", "not a finite number", id="infinity"),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_parse_schedule_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_schedule(text)
