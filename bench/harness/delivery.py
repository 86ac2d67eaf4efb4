"""Section 2: draining a backlog of pending deliveries, beside the floor of the HTTP client.

N events with one pending delivery each (as ingestion leaves them) are drained by one ``switchboard
worker`` on the server core, to a counting receiver (``references/receiver_asgi.py``) on the load core.
The rate is N over the time from the first callback's arrival until the receiver has counted N and every
delivery row reads ``succeeded``. The floor, measured in the same run against the same receiver, is one
process posting the same envelope, signed the same way, with the same concurrency and no database.
"""

from __future__ import annotations

import re
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from app import clock, jsonenc
from harness import profile, seed, service, stores
from harness.context import REFERENCES, Bench, all_cores, free_port, say
from harness.machine import CpuMeter, CpuShare
from harness.procs import LOAD_CORE, SERVER_CORE, Child, clean_env, executable, wait_http
from harness.stats import median_round


@dataclass
class DrainResult:
    store: str
    count: int
    seconds: float = 0.0  # first arrival → all counted and succeeded
    seconds_from_launch: float = 0.0  # the worker's start (imports, schema check) included
    received: int = 0
    succeeded: int = 0
    attempts: int = 0
    cpu: CpuShare | None = None  # the worker's, while draining
    problems: list[str] = field(default_factory=list)
    skipped: str | None = None
    round_rates: list[float] = field(default_factory=list)  # deliveries/s of every round, in order

    @property
    def rate(self) -> float | None:
        return self.count / self.seconds if self.seconds else None

    @property
    def rate_from_launch(self) -> float | None:
        return self.count / self.seconds_from_launch if self.seconds_from_launch else None


@dataclass
class DeliveryResult:
    count: int
    concurrency: int
    envelope_bytes: int
    floor_rate: float | None = None  # the median round's
    floor_problems: list[str] = field(default_factory=list)
    drains: list[DrainResult] = field(default_factory=list)
    floor_rates: list[float] = field(default_factory=list)  # every round's, in order


class Receiver:
    """The counting receiver on the load core."""

    def __init__(self, bench: Bench):
        self.port = free_port()
        argv = [
            executable("uvicorn"),
            "receiver_asgi:app",
            "--app-dir",
            str(REFERENCES),
            "--port",
            str(self.port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self.child = bench.procs.start("receiver", argv, core=LOAD_CORE, env=clean_env({}))
        wait_http(self.child, self.count_url, expect_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def count_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/count"

    def count(self) -> int:
        with urllib.request.urlopen(self.count_url, timeout=10) as response:
            return int(response.read())


def envelope_file(bench: Bench) -> Path:
    """The envelope the worker will forward for a stored event, for the floor to post."""
    path = bench.path("envelope.json")
    path.write_bytes(jsonenc.dumps(seed.event(0, clock.utc_now()).envelope()).encode())
    return path


def measure_floor(bench: Bench, receiver: Receiver, result: DeliveryResult, body: Path) -> None:
    say(f"delivery: aiohttp client floor, {result.count} callbacks")
    env = clean_env({"RECEIVER_PORT": str(receiver.port), "FLOOR_BODY_FILE": str(body)})
    argv = [sys.executable, str(REFERENCES / "aiohttp_floor.py"), str(result.count), str(result.concurrency)]
    before = receiver.count()
    output = bench.procs.run("aiohttp-floor", argv, core=SERVER_CORE, env=env, timeout=600)
    found = re.search(r"([\d.]+) callbacks/s", output)
    if found is None:
        result.floor_problems.append(f"the floor printed no rate: {output!r}")
        return
    result.floor_rate = float(found.group(1))
    received = receiver.count() - before
    if received != result.count:
        result.floor_problems.append(f"the receiver counted {received} of the floor's {result.count} posts")


def drain(bench: Bench, receiver: Receiver, store: str, database_url: str, count: int) -> DrainResult:
    result = DrainResult(store, count)
    say(f"delivery: {count} pending deliveries on {store}")
    service.db_upgrade(bench, database_url)
    with all_cores():
        seed.fill(database_url, receiver.url, count, delivered=False, span=timedelta(minutes=5))
        stores.checkpoint(database_url)
    base = receiver.count()
    launched = time.monotonic()
    concurrency = {"SWITCHBOARD_DELIVERY_CONCURRENCY": str(bench.config.delivery_concurrency)}
    worker = service.worker(bench, f"worker-{store}", database_url, concurrency)
    profiler = None
    try:
        first = _wait_first_arrival(receiver, base, worker)
        meter = CpuMeter(worker.pid, SERVER_CORE)
        profiler = profile.start(bench, worker, f"delivery-{store}", count / 3000)
        _wait(lambda: receiver.count() - base >= count, worker, timeout=max(120, count / 50))
        _wait(lambda: _succeeded(database_url) >= count, worker, timeout=60, interval=0.05)
        done = time.monotonic()
        result.cpu = meter.stop()
        result.seconds, result.seconds_from_launch = done - first, done - launched
        time.sleep(1.0)  # anything delivered twice would arrive now
    except TimeoutError as exc:
        result.problems.append(str(exc))
    finally:
        profile.finish(bench, profiler)
        bench.procs.stop(worker)
    result.received = receiver.count() - base
    result.succeeded = _succeeded(database_url)
    result.attempts = stores.count_rows(database_url, "delivery_attempts")
    result.problems += _verify(result)
    return result


def _succeeded(database_url: str) -> int:
    return stores.count_rows(database_url, "deliveries", "status = 'succeeded'")


def _wait_first_arrival(receiver: Receiver, base: int, worker: Child) -> float:
    _wait(lambda: receiver.count() > base, worker, timeout=120, interval=0.005)
    return time.monotonic()


def _wait(condition: Callable[[], bool], worker: Child, *, timeout: float, interval: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if not worker.running():
            raise TimeoutError(f"the worker exited ({worker.popen.returncode}):\n{worker.log_tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done after {timeout:.0f} s")
        time.sleep(interval)


def _verify(result: DrainResult) -> list[str]:
    problems = []
    if result.received != result.count:
        problems.append(f"the receiver counted {result.received} callbacks for {result.count} deliveries")
    if result.succeeded != result.count:
        problems.append(f"{result.succeeded} of {result.count} deliveries succeeded")
    if result.attempts != result.count:
        problems.append(f"{result.attempts} attempts recorded for {result.count} deliveries")
    return problems


def run(bench: Bench) -> DeliveryResult:
    """The floor and each store's drain once per round, the rounds one after another (``--rounds``, as
    for ingest), each on a fresh database; each figure is the median of its rounds."""
    config = bench.config
    body = envelope_file(bench)
    result = DeliveryResult(config.deliveries, config.delivery_concurrency, body.stat().st_size)
    rounds: dict[str, list[DrainResult]] = {"SQLite": [], "PostgreSQL": []}
    receiver = Receiver(bench)
    try:
        for round_ in range(config.rounds):
            result.floor_rate = None
            measure_floor(bench, receiver, result, body)
            if result.floor_rate is not None:
                result.floor_rates.append(result.floor_rate)
            sqlite_url = stores.sqlite_url(bench.path(f"delivery-{round_}.db"))
            rounds["SQLite"].append(drain(bench, receiver, "SQLite", sqlite_url, config.deliveries))
            if bench.postgres is None:
                skipped = bench.postgres_skipped
                rounds["PostgreSQL"].append(DrainResult("PostgreSQL", config.deliveries, skipped=skipped))
            else:
                url = bench.postgres.create(f"delivery{round_}")
                rounds["PostgreSQL"].append(drain(bench, receiver, "PostgreSQL", url, config.deliveries))
    finally:
        bench.procs.stop(receiver.child)
    result.floor_rate = (
        sorted(result.floor_rates)[len(result.floor_rates) // 2] if result.floor_rates else None
    )
    result.drains = [median_round(drains) for drains in rounds.values() if drains]
    return result
