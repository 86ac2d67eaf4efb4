"""What each webhook request leaves behind: its counters, a latency observation and an access line.

Webhooks are the hot path, so everything a request touches is prepared per route when the app is
built: the labelled counter children, the histogram child, the event type. Counting a request is
then a few ``inc()``/``observe()`` calls and two dictionary lookups, with no label resolution.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter

from app import access, metrics
from app.connector.registry import Webhook
from app.event.writer import Stored


class WebhookMeter:
    __slots__ = ("_created", "_duplicate", "_duration", "_rejected", "_rejected_other", "event", "received")

    def __init__(self, webhook: Webhook):
        route, self.event = webhook.path, webhook.event_type
        self.received = metrics.WEBHOOKS_RECEIVED.labels(route, self.event)
        self._rejected: dict[str, Counter] = {
            code: metrics.WEBHOOKS_REJECTED.labels(route, self.event, reason)
            for code, reason in metrics.REJECTION_REASONS.items()
        }
        self._rejected_other = metrics.WEBHOOKS_REJECTED.labels(route, self.event, metrics.OTHER_REASON)
        self._created = metrics.EVENTS_STORED.labels(self.event, "created")
        self._duplicate = metrics.EVENTS_STORED.labels(self.event, "duplicate")
        # Twilio POSTs; a GET webhook (if so configured at Twilio) is counted under its own label.
        self._duration = metrics.HTTP_DURATION.labels(route, "POST")

    def accepted(self, scope: dict[str, Any], started: float, stored: Stored) -> None:
        elapsed = time.perf_counter() - started
        (self._created if stored.created else self._duplicate).inc()
        self._observe(scope, elapsed)
        access.log_webhook(scope, 200, elapsed, self.event, event_id=stored.event_id, reason=None)

    def rejected(self, scope: dict[str, Any], started: float, status: int, code: str) -> None:
        elapsed = time.perf_counter() - started
        self._rejected.get(code, self._rejected_other).inc()
        self._observe(scope, elapsed)
        access.log_webhook(scope, status, elapsed, self.event, event_id=None, reason=code)

    def _observe(self, scope: dict[str, Any], elapsed: float) -> None:
        if scope["method"] == "POST":
            self._duration.observe(elapsed)
        else:
            metrics.HTTP_DURATION.labels(scope["path"], scope["method"]).observe(elapsed)


def meters_for(webhooks: dict[str, Webhook]) -> dict[str, WebhookMeter]:
    """One meter per webhook path, built once with the app."""
    return {path: WebhookMeter(webhook) for path, webhook in webhooks.items()}
