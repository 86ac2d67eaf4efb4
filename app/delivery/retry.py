"""The delivery retry policy: how long to wait before the next attempt, and when to give up."""

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DEFAULT_SCHEDULE", "RetryPolicy", "parse_schedule"]

#: Seconds between attempts after the first (SWITCHBOARD_RETRY_SCHEDULE's default): 8 attempts over ~27 h.
DEFAULT_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Delays between delivery attempts, from a fixed schedule with proportional jitter.

    With ``schedule = (d1, …, dn)`` there are at most ``n + 1`` attempts. After ``k`` attempts have
    been made (``1 <= k <= n``) the next one waits::

        delay(k) = d_k * (1 + jitter * (2 * r - 1)),    r = rand() in [0, 1)

    i.e. ``d_k`` spread uniformly over ``[d_k * (1 - jitter), d_k * (1 + jitter))``, so that deliveries
    failed by one outage do not all come back in the same second. After ``n + 1`` attempts there is
    no next one (``None``): the delivery is failed.
    """

    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    jitter: float = 0.1

    def __post_init__(self) -> None:
        for delay in self.schedule:
            if not math.isfinite(delay) or delay < 0:
                raise ValueError(f"retry delays must be finite and >= 0, got {delay!r}")
        # Below 1 so a delay can never turn negative.
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter!r}")

    @property
    def max_attempts(self) -> int:
        """Attempts in all, the first included."""
        return len(self.schedule) + 1

    def next_delay(self, attempts_made: int, rand: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before attempt ``attempts_made + 1``, or ``None`` when none is left."""
        if attempts_made < 1:
            raise ValueError(f"attempts_made counts attempts already made, from 1; got {attempts_made}")
        if attempts_made > len(self.schedule):
            return None
        base = self.schedule[attempts_made - 1]
        return base * (1 + self.jitter * (2 * rand() - 1))


def parse_schedule(text: str) -> tuple[float, ...]:
    """Parse ``SWITCHBOARD_RETRY_SCHEDULE``: comma-separated seconds, e.g. ``"5, 300, 1800"``.

    Raises ValueError naming the offending item for an empty schedule or item, a non-number, a
    negative, NaN or infinite value.
    """
    if not text.strip():
        raise ValueError("retry schedule is empty: give comma-separated seconds, e.g. '5,300,1800'")
    delays: list[float] = []
    for position, item in enumerate(text.split(","), start=1):
        item = item.strip()
        if not item:
            raise ValueError(f"retry schedule item {position} is empty in {text!r}")
        try:
            delay = float(item)
        except ValueError:
            raise ValueError(f"retry schedule item {position} ({item!r}) is not a number") from None
        # float() accepts "nan" and "inf"; neither is a delay.
        if not math.isfinite(delay):
            raise ValueError(f"retry schedule item {position} ({item!r}) is not a finite number")
        if delay < 0:
            raise ValueError(f"retry schedule item {position} ({item!r}) is negative")
        delays.append(delay)
    return tuple(delays)
