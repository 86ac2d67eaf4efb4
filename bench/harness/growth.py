"""Section 4: does a large history slow the service down?

Ingest on SQLite with ``--rows`` events already stored (built as ingestion builds them, spread over 30
days, each with a succeeded delivery), beside the same measurement on an empty database in the same
run; then the latency of a page of ``GET /api/v1/events?limit=50`` at that size: the first page, and a
page half-way down through a cursor.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass, field
from datetime import timedelta

from app.api.pagination import encode_cursor
from harness import ingest, seed, service, stores
from harness.context import Bench, all_cores, say
from harness.stats import median_round, summary_ms

PAGE_LIMIT = 50
UNMEASURED = 20  # requests before the measured ones: connection, caches


@dataclass
class PageLatency:
    label: str
    path: str
    samples: int
    ms: dict[str, float | None] = field(default_factory=dict)
    response_bytes: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class GrowthResult:
    rows: int
    seed_seconds: float = 0.0
    database_bytes: int = 0
    empty: ingest.IngestResult | None = None
    full: ingest.IngestResult | None = None
    pages: list[PageLatency] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        """Ingest rate with the history stored over the rate on the empty database."""
        if self.empty and self.full and self.empty.rate and self.full.rate:
            return self.full.rate / self.empty.rate
        return None

    @property
    def ratio_per_cpu_second(self) -> float | None:
        """The same per CPU-second the server used: what the history costs, less the machine's noise."""
        if self.empty and self.full and self.empty.per_cpu_second and self.full.per_cpu_second:
            return self.full.per_cpu_second / self.empty.per_cpu_second
        return None


def prepare(bench: Bench, name: str, rows: int) -> tuple[str, list[str]]:
    """A migrated SQLite database with the subscription and ``rows`` events; returns its URL and marks."""
    path = bench.path(f"{name}.db")
    url = stores.sqlite_url(path)
    service.db_upgrade(bench, url)
    with all_cores():
        marks = seed.fill(url, ingest.UNUSED_CALLBACK, rows, delivered=True, span=timedelta(days=30))
    return url, marks


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {service.API_TOKEN}"})
    response = conn.getresponse()
    body = response.read()
    return response.status, body, time.perf_counter() - started


def page_latency(bench: Bench, label: str, path: str, samples: int) -> PageLatency:
    """``samples`` sequential GETs on one keep-alive connection, after ``UNMEASURED`` ones."""
    result = PageLatency(label, path, samples)
    durations = []
    conn = http.client.HTTPConnection("127.0.0.1", bench.port, timeout=30)
    try:
        for i in range(UNMEASURED + samples):
            status, body, seconds = _get(conn, path)
            if status != 200:
                result.problems.append(f"{path}: HTTP {status} {body[:200]!r}")
                return result
            if i >= UNMEASURED:
                durations.append(seconds)
    finally:
        conn.close()
    result.ms, result.response_bytes = summary_ms(durations), len(body)
    page = json.loads(body)
    if len(page.get("items", [])) != PAGE_LIMIT or not page.get("next_cursor"):
        result.problems.append(
            f"{path}: {len(page.get('items', []))} items, next_cursor {page.get('next_cursor')}"
        )
    return result


def run(bench: Bench) -> GrowthResult:
    config = bench.config
    result = GrowthResult(config.rows)
    say(f"growth: storing {config.rows} events (SQLite)")
    started = time.monotonic()
    full_url, marks = prepare(bench, "growth-full", config.rows)
    result.seed_seconds = time.monotonic() - started
    result.database_bytes = bench.path("growth-full.db").stat().st_size
    empty_url, _ = prepare(bench, "growth-empty", 0)
    label = f"SQLite, {config.rows:,} events stored"
    empty = ingest.switchboard_target("growth-empty", "SQLite, empty", empty_url, subscribe=False)
    full = ingest.switchboard_target("growth-full", label, full_url, subscribe=False)
    # Empty and full alternate, round by round (``--rounds``, as for ingest); each reports its median.
    empties, fulls = [], []
    for round_ in range(config.rounds):
        empties.append(ingest.measure(bench, empty, round_))
        fulls.append(ingest.measure(bench, full, round_))
    result.empty, result.full = median_round(empties), median_round(fulls)
    say(f"growth: GET /api/v1/events?limit={PAGE_LIMIT}, {config.api_samples} times each")
    child = service.serve(bench, "serve-growth-api", full_url, worker=False)
    try:
        deep = encode_cursor(marks[len(marks) // 2]) if marks else ""
        for page_label, path in (
            ("first page", f"/api/v1/events?limit={PAGE_LIMIT}"),
            (f"page at ~{config.rows // 2:,} deep", f"/api/v1/events?limit={PAGE_LIMIT}&cursor={deep}"),
        ):
            result.pages.append(page_latency(bench, page_label, path, config.api_samples))
    finally:
        bench.procs.stop(child)
    return result
