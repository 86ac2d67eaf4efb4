"""When a failed Twilio call is tried again, and after how long (pure: the client does the waiting).

What is retried depends on whether Twilio can have acted on the request:

============================  ==============  ==========================================================
outcome                       GET             POST / DELETE
============================  ==============  ==========================================================
429, code 20429 or none       retry           retry: Twilio says 429s are not processed, safe to retry
429, another code (21611)     no              no: "SMS queue is full" is the account's state, not a blip
503                           retry           retry: Twilio's edge refused it before processing
500, 502, 504                 retry           no: a create may have happened (a message may be sent)
not connected (refused, DNS)  retry           retry: nothing reached Twilio
timeout / broken after send   retry           no: Twilio may have the request
============================  ==============  ==========================================================

Waits: ``Retry-After`` (seconds or an HTTP date) when Twilio sends one, else
``min(max_delay, base_delay * 2 ** (retry - 1))`` scaled by a random factor in [0.5, 1] (jitter, so
clients rate-limited together do not come back together). At most ``max_attempts`` attempts, and never
past ``budget`` seconds since the first: a wait that would end later is not started.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

from app import clock

RATE_LIMITED = 20429  # Twilio's code for "Too Many Requests"
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
_UNPROCESSED_STATUSES = frozenset({503})
_SERVER_ERRORS = frozenset({500, 502, 503, 504})


def is_idempotent(method: str) -> bool:
    return method.upper() in _IDEMPOTENT


def not_processed(status: int, twilio_code: int | None) -> bool:
    """Whether Twilio's answer says the request was not acted on (so sending it again is safe)."""
    if status == 429:
        return twilio_code in (None, RATE_LIMITED)
    return status in _UNPROCESSED_STATUSES


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    budget: float = 30.0

    def should_retry_status(self, method: str, status: int, twilio_code: int | None) -> bool:
        if not_processed(status, twilio_code):
            return True
        return status in _SERVER_ERRORS and is_idempotent(method)

    def should_retry_transport(self, method: str, *, request_sent: bool) -> bool:
        return not request_sent or is_idempotent(method)

    def backoff(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1 for the first retry) when Twilio names none."""
        delay: float = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        jitter: float = random.uniform(0.5, 1.0)  # spreads out clients that were limited together
        return delay * jitter

    def wait(self, retry: int, retry_after: float | None, elapsed: float) -> float | None:
        """Seconds to wait before retry ``retry``, or None when no retry fits the attempts or budget."""
        if retry >= self.max_attempts:
            return None
        delay = retry_after if retry_after is not None else self.backoff(retry)
        if elapsed + delay > self.budget:
            return None
        return delay


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After: 2`` or ``Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`` in seconds from now."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - clock.utc_now()).total_seconds())
