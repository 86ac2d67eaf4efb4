"""What every section of a run shares: settings, child processes, temp dir, databases and signed requests."""

from __future__ import annotations

import contextlib
import math
import os
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness import twilio_requests, wrk
from harness.procs import LOAD_CORE, Processes
from harness.stores import PostgresDatabases
from harness.twilio_requests import WEBHOOK_PATH, SidSet

BENCH_DIR = Path(__file__).resolve().parent.parent
REFERENCES = BENCH_DIR / "references"
SECTIONS = ("ingest", "delivery", "latency", "growth")


@dataclass(frozen=True)
class Config:
    sections: tuple[str, ...]
    duration: int  # seconds of each measured wrk run
    warmup: int  # seconds of each warm-up wrk run
    connections: int
    rate_bound: int  # req/s no target reaches: sizes the request sets so wrk never repeats one
    rounds: int  # interleaved ingest rounds; each target's median round is reported
    deliveries: int
    delivery_concurrency: int
    e2e_rate: int
    e2e_duration: int
    rows: int
    api_samples: int
    postgres_url: str | None
    profile: bool
    quick: bool

    def request_count(self, seconds: int) -> int:
        return math.ceil(self.rate_bound * seconds * 1.5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Bench:
    config: Config
    procs: Processes
    tmp: Path
    postgres: PostgresDatabases | None
    profile_dir: Path | None
    postgres_skipped: str = ""  # why ``postgres`` is None
    port: int = field(default_factory=free_port)  # every ingest target's port: the signatures cover it
    _scripts: dict[tuple[SidSet, int], Path] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return self.base_url + WEBHOOK_PATH

    def wrk_script(self, sid_set: SidSet, round_: int = 0) -> Path:
        """The wrk script replaying the set's requests (warm-up or measured) for one ingest round,
        generated on first use. Each round has requests of its own, so a target keeps its database
        from round to round and still stores every request it is sent."""
        key = (sid_set, round_)
        if key not in self._scripts:
            seconds = self.config.warmup if sid_set is SidSet.WARMUP else self.config.duration
            count = self.config.request_count(seconds)
            name = f"{sid_set.name.lower()}-{round_}"
            data = self.tmp / f"requests-{name}.bin"
            started = time.monotonic()
            with all_cores():
                twilio_requests.write_wrk_requests(data, self.webhook_url, sid_set, count, round_ * count)
            say(f"signed {count} {name} requests in {time.monotonic() - started:.0f} s")
            self._scripts[key] = wrk.write_script(self.tmp / f"{name}.lua", data)
        return self._scripts[key]

    def path(self, name: str) -> Path:
        return self.tmp / name


def say(message: str) -> None:
    """Progress, on stderr (stdout carries the table)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pin_to_load_core() -> None:
    """The bench itself (polling, API latency client) stays on the load generator's core."""
    os.sched_setaffinity(0, {LOAD_CORE})


@contextlib.contextmanager
def all_cores() -> Iterator[None]:
    """Use every core for preparation (signing, seeding), when nothing is being measured."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, range(os.cpu_count() or 1))
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
