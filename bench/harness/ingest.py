"""Section 1: webhook ingest at 32 connections, Switchboard beside its floors and the usual alternative.

Each target serves ``POST /webhooks/twilio/messages`` on the bench's port, pinned to the server core. It
is warmed up by a short wrk run of its own requests, then measured by wrk (load core) with requests it
has never seen. Storing targets are then checked against their database: every 200 must be a stored
event (and, for Switchboard, a stored delivery); stored − 200s may exceed zero only by what wrk cut off
at the end, at most one request per connection.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness import profile, service, stores, wrk
from harness.context import REFERENCES, Bench, say
from harness.machine import CpuMeter, CpuShare
from harness.procs import SERVER_CORE, Child, clean_env, executable, wait_http
from harness.stats import median_round
from harness.twilio_requests import AUTH_TOKEN, SidSet

# Deliveries are never attempted here (serve --no-worker): the URL only has to be accepted.
UNUSED_CALLBACK = "http://127.0.0.1:9/hook"


@dataclass
class Counts:
    events: int
    deliveries: int | None = None


@dataclass
class IngestResult:
    key: str
    label: str
    measured: wrk.WrkResult | None = None
    warmup: wrk.WrkResult | None = None
    stored: Counts | None = None  # during the measured run
    cpu: CpuShare | None = None  # during the measured run
    problems: list[str] = field(default_factory=list)  # FAILUREs: the figures cannot be trusted
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    round_rates: list[float] = field(default_factory=list)  # req/s of every round, in order

    @property
    def rate(self) -> float | None:
        return self.measured.rate if self.measured else None

    @property
    def per_cpu_second(self) -> float | None:
        """Requests per second of CPU the target's processes used: steadier than req/s on a shared core."""
        if self.rate is None or self.cpu is None or not self.cpu.target_pct:
            return None
        return self.rate / (self.cpu.target_pct / 100)


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    start: Callable[[Bench], Child]
    counts: Callable[[], Counts] | None = None  # what the target has stored so far


def verify_stored(stored: int, answered: int, connections: int, what: str) -> list[str]:
    """Every 200 stored; anything stored beyond the 200s explained by responses wrk cut off."""
    problems = []
    if stored < answered:
        problems.append(f"{what}: {stored} stored < {answered} answered 200 (shortfall {answered - stored})")
    elif stored - answered > connections:
        problems.append(
            f"{what}: {stored - answered} stored beyond the 200s, more than the {connections} "
            "requests wrk can cut off at the end"
        )
    return problems


def _wrk(bench: Bench, target: Target, sid_set: SidSet, round_: int = 0) -> wrk.WrkResult:
    warmup = sid_set is SidSet.WARMUP
    return wrk.run(
        bench.procs,
        f"wrk-{'warmup-' if warmup else ''}{target.key}",
        bench.wrk_script(sid_set, 0 if warmup else round_),
        bench.webhook_url,
        connections=bench.config.connections,
        seconds=bench.config.warmup if warmup else bench.config.duration,
    )


def measure(bench: Bench, target: Target, round_: int = 0) -> IngestResult:
    """Start the target, warm it up, measure it (with the round's requests), check its database, stop it."""
    result = IngestResult(target.key, target.label)
    say(f"ingest: {target.label}" + (f" (round {round_ + 1} of {bench.config.rounds})" if round_ else ""))
    child = target.start(bench)
    try:
        result.warmup = _wrk(bench, target, SidSet.WARMUP)
        result.notes += [f"warm-up: {p}" for p in result.warmup.problems]
        time.sleep(0.5)  # requests whose answers the warm-up's end cut off: let them commit first
        before = target.counts() if target.counts else None
        profiler = profile.start(bench, child, f"ingest-{target.key}", bench.config.duration)
        meter = CpuMeter(child.pid, SERVER_CORE)
        result.measured = _wrk(bench, target, SidSet.MEASURED, round_)
        result.cpu = meter.stop()
        profile.finish(bench, profiler)
        result.problems += result.measured.problems
        time.sleep(0.5)  # the same after the measured run: they count as stored beyond the 200s
        if target.counts and before is not None:
            result.stored = _delta(before, target.counts())
            result.problems += _verify(result.stored, result.measured)
    finally:
        bench.procs.stop(child)
    return result


def _delta(before: Counts, after: Counts) -> Counts:
    deliveries = None
    if after.deliveries is not None and before.deliveries is not None:
        deliveries = after.deliveries - before.deliveries
    return Counts(after.events - before.events, deliveries)


def _verify(stored: Counts, measured: wrk.WrkResult) -> list[str]:
    answered, connections = measured.answered_200, measured.connections
    problems = verify_stored(stored.events, answered, connections, "events")
    if stored.deliveries is not None:
        problems += verify_stored(stored.deliveries, answered, connections, "deliveries")
        if stored.deliveries != stored.events:
            problems.append(f"{stored.events} events but {stored.deliveries} deliveries (one subscription)")
    return problems


# --- the targets ----------------------------------------------------------------------------------


def _uvicorn(bench: Bench, name: str, app: str) -> Child:
    argv = [
        executable("uvicorn"),
        app,
        "--app-dir",
        str(REFERENCES),
        "--port",
        str(bench.port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    child = bench.procs.start(name, argv, core=SERVER_CORE, env=clean_env({}))
    wait_http(child, bench.base_url + "/")
    return child


def _peer(bench: Bench) -> Child:
    env = clean_env(
        {"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "PUBLIC_URL": bench.base_url, "PEER_DB": str(bench.path("peer.db"))}
    )
    argv = [
        executable("gunicorn"),
        "-w",
        "1",
        "-b",
        f"127.0.0.1:{bench.port}",
        "--chdir",
        str(REFERENCES),
        "peer_flask:app",
    ]
    child = bench.procs.start("peer-flask", argv, core=SERVER_CORE, env=env)
    wait_http(child, bench.base_url + "/")
    return child


def switchboard_counts(database_url: str) -> Callable[[], Counts]:
    def counts() -> Counts:
        return Counts(
            stores.count_rows(database_url, "events"), stores.count_rows(database_url, "deliveries")
        )

    return counts


def switchboard_target(key: str, label: str, database_url: str, *, subscribe: bool = True) -> Target:
    subscribed = not subscribe  # once per database: a later round starts on the same one

    def start(bench: Bench) -> Child:
        nonlocal subscribed
        stores.checkpoint(database_url)
        child = service.serve(bench, f"serve-{key}", database_url, worker=False)
        if not subscribed:
            service.subscribe(bench, UNUSED_CALLBACK)
            subscribed = True
        return child

    return Target(key, label, start, switchboard_counts(database_url))


def targets(bench: Bench) -> list[Target | IngestResult]:
    """The five targets in table order; a target that cannot run here is an already-skipped result."""
    peer_db = stores.sqlite_url(bench.path("peer.db"))
    listing: list[Target | IngestResult] = [
        Target("asgi", "raw ASGI app, empty TwiML", lambda b: _uvicorn(b, "bare-asgi", "bare_asgi:app")),
        Target(
            "fastapi",
            "bare FastAPI, await request.form()",
            lambda b: _uvicorn(b, "bare-fastapi", "bare_fastapi:app"),
        ),
        Target(
            "peer",
            "Flask + RequestValidator + SQLite, gunicorn",
            _peer,
            lambda: Counts(stores.count_rows(peer_db, "events")),
        ),
        switchboard_target("sqlite", "Switchboard, SQLite", stores.sqlite_url(bench.path("ingest.db"))),
    ]
    if bench.postgres is None:
        listing.append(IngestResult("postgres", "Switchboard, PostgreSQL", skipped=bench.postgres_skipped))
    else:
        url = bench.postgres.create("ingest")
        listing.append(switchboard_target("postgres", "Switchboard, PostgreSQL", url))
    return listing


def run(bench: Bench) -> list[IngestResult]:
    """Every target once per round, the rounds one after another, so that a slow spell of a shared
    machine falls on all targets alike; each target's median round is its result."""
    listing = targets(bench)
    rounds: dict[str, list[IngestResult]] = {}
    for round_ in range(bench.config.rounds):
        for target in listing:
            if isinstance(target, Target):
                rounds.setdefault(target.key, []).append(_measure_or_failure(bench, target, round_))
    return [t if isinstance(t, IngestResult) else _median(rounds[t.key]) for t in listing]


def _measure_or_failure(bench: Bench, target: Target, round_: int) -> IngestResult:
    try:
        return measure(bench, target, round_)
    except Exception as exc:  # one broken target must not hide the others' figures
        print(f"ingest {target.key} failed: {exc}", file=sys.stderr)
        return IngestResult(target.key, target.label, problems=[f"did not run: {exc}"])


def _median(results: list[IngestResult]) -> IngestResult:
    return dataclasses.replace(median_round(results), notes=[note for r in results for note in r.notes])
