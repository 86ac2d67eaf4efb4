"""Prometheus metrics of this process, and their rendering for ``GET /metrics``.

Each process counts its own (no multiprocess mode): scrape every API replica and every worker, and
sum in PromQL. Counters on the hot paths are bound to their labels once, up front (see
``app/inbound/meter.py``), so counting a request is a plain ``inc()``. The queue gauges are not
counted at all: they are read from the database when scraped, at most once a second.
"""

from __future__ import annotations

import logging
import math
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock
from app.delivery import queue

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Our own registry rather than the library's global one: only what we define (and the standard
# process collectors) is exposed, and nothing a dependency registers by import leaks in.
REGISTRY = CollectorRegistry(auto_describe=True)
# The *_created series (when each counter was born) double the output and serve no alert or graph.
disable_created_metrics()  # type: ignore[no-untyped-call]
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# Webhooks are answered in milliseconds; callbacks may take up to SWITCHBOARD_DELIVERY_TIMEOUT.
_REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_ATTEMPT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0)

WEBHOOKS_RECEIVED = Counter(
    "switchboard_webhooks_received",
    "Webhook requests received, whatever their answer",
    ["route", "event"],
    registry=REGISTRY,
)
WEBHOOKS_REJECTED = Counter(
    "switchboard_webhooks_rejected",
    "Webhook requests answered with an error, by reason; nothing was stored",
    ["route", "event", "reason"],
    registry=REGISTRY,
)
# The error codes a webhook can be rejected with, and the reason each is counted under.
REJECTION_REASONS = {
    "invalid_signature": "invalid_signature",
    "wrong_account": "wrong_account",
    "payload_too_large": "payload_too_large",
    "unsupported_media_type": "unsupported_media_type",
    "undecodable_body": "undecodable_body",
    "method_not_allowed": "method_not_allowed",
    "service_unavailable": "database_unavailable",
}
OTHER_REASON = "other"

EVENTS_STORED = Counter(
    "switchboard_events_stored",
    "Accepted webhooks: created (a new event) or duplicate (already stored, answered 200 again)",
    ["event", "result"],
    registry=REGISTRY,
)
EVENTS_PRUNED = Counter(
    "switchboard_events_pruned",
    "Events deleted by retention (with their deliveries and attempts)",
    registry=REGISTRY,
)

HTTP_REQUESTS = Counter(
    "switchboard_http_requests",
    "Requests to the REST API, docs and probes (webhooks: switchboard_webhooks_*), by status",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "switchboard_http_request_duration_seconds",
    "Time from request to the end of the response, webhooks and API alike",
    ["route", "method"],
    buckets=_REQUEST_BUCKETS,
    registry=REGISTRY,
)

DELIVERY_ATTEMPTS = Counter(
    "switchboard_delivery_attempts",
    "Callback attempts by outcome: succeeded, retry_scheduled, or failed (no attempts left)",
    ["outcome"],
    registry=REGISTRY,
)
DELIVERY_DURATION = Histogram(
    "switchboard_delivery_attempt_duration_seconds",
    "Time of one callback attempt, from connecting to the end of the answer (or the error)",
    buckets=_ATTEMPT_BUCKETS,
    registry=REGISTRY,
)

QUEUE_PENDING = Gauge(
    "switchboard_delivery_queue_pending",
    "Pending deliveries of enabled subscriptions, due or waiting for their next retry (read at scrape)",
    registry=REGISTRY,
)
QUEUE_OLDEST_AGE = Gauge(
    "switchboard_delivery_queue_oldest_age_seconds",
    "How long the most overdue pending delivery has been due; 0 when none is (read at scrape)",
    registry=REGISTRY,
)


class QueueProbe:
    """Reads the queue gauges from the database, at most once per ``ttl`` seconds.

    Several scrapers (or a scraper and a curious human) then cost one cheap query a second between
    them. The query walks the partial index of pending deliveries only (``ix_deliveries_due``).
    """

    def __init__(self, engine: AsyncEngine, ttl: float = 1.0):
        self._engine = engine
        self._ttl = ttl
        self._read_at = -math.inf

    async def refresh(self) -> None:
        now = time.monotonic()
        if now - self._read_at < self._ttl:
            return
        self._read_at = now
        try:
            async with self._engine.connect() as conn:
                stats = await queue.stats(conn, clock.utc_now())
        except Exception as exc:
            # Unknown is not zero: NaN instead of a stale or zero value that would look healthy
            # (the outage itself shows in /readyz and in the 503 counters).
            log.warning("queue metrics unavailable: %s", type(exc).__name__)
            QUEUE_PENDING.set(math.nan)
            QUEUE_OLDEST_AGE.set(math.nan)
            return
        QUEUE_PENDING.set(stats.pending)
        QUEUE_OLDEST_AGE.set(stats.oldest_due_age)


async def render(probe: QueueProbe | None) -> bytes:
    """The Prometheus text exposition of this process, with the queue gauges fresh to a second."""
    if probe is not None:
        await probe.refresh()
    return generate_latest(REGISTRY)
