"""Section 3: end-to-end latency, webhook sent → forwarded envelope received, at a steady rate.

``switchboard serve`` (with its in-process worker, SQLite, server core) and a subscription to the
probe's receiver; the probe (``e2e_probe.py``, load core) sends and receives in one process.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

from harness import profile, service, stores
from harness.context import BENCH_DIR, Bench, free_port, say
from harness.e2e_probe import MARKER
from harness.procs import LOAD_CORE, clean_env


@dataclass
class LatencyResult:
    rate: int
    duration: int
    report: dict[str, Any] = field(default_factory=dict)  # the probe's measured phase
    warmup: dict[str, Any] = field(default_factory=dict)
    stored_events: int = 0
    succeeded: int = 0
    problems: list[str] = field(default_factory=list)

    def ms(self, key: str, q: str) -> float | None:
        value = self.report.get(key, {}).get(q)
        return float(value) if value is not None else None


def run(bench: Bench) -> LatencyResult:
    config = bench.config
    result = LatencyResult(config.e2e_rate, config.e2e_duration)
    say(f"latency: {config.e2e_rate} events/s for {config.e2e_duration} s through serve (SQLite)")
    database_url = stores.sqlite_url(bench.path("latency.db"))
    receiver_port = free_port()
    child = service.serve(bench, "serve-latency", database_url, worker=True)
    try:
        service.subscribe(bench, f"http://127.0.0.1:{receiver_port}/hook")
        argv = [
            sys.executable,
            "-m",
            "harness.e2e_probe",
            "--url",
            bench.webhook_url,
            "--receiver-port",
            str(receiver_port),
            "--rate",
            str(config.e2e_rate),
            "--duration",
            str(config.e2e_duration),
            "--warmup",
            str(config.warmup),
        ]
        env = clean_env({"PYTHONPATH": str(BENCH_DIR)})
        profiler = profile.start(bench, child, "latency", config.warmup + config.e2e_duration + 2)
        timeout = config.e2e_duration + 180
        output = bench.procs.run("e2e-probe", argv, core=LOAD_CORE, env=env, timeout=timeout)
        profile.finish(bench, profiler)
    finally:
        bench.procs.stop(child)
    line = next((ln for ln in output.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        result.problems.append(f"the probe printed no result: {output[-500:]!r}")
        return result
    data = json.loads(line[len(MARKER) :])
    result.report, result.warmup = data["measured"], data["warmup"]
    result.stored_events = stores.count_rows(database_url, "events")
    result.succeeded = stores.count_rows(database_url, "deliveries", "status = 'succeeded'")
    result.problems += _verify(result)
    return result


def _verify(result: LatencyResult) -> list[str]:
    report, problems = result.report, []
    sent = report["sent"]
    ok = report["statuses"].get("200", 0)
    if ok != sent:
        problems.append(f"{sent - ok} of {sent} webhooks not answered 200: {report['statuses']}")
    if report["arrived"] != sent:
        problems.append(f"{sent - report['arrived']} of {sent} events never arrived at the receiver")
    if report["duplicates"]:
        problems.append(f"{report['duplicates']} events arrived twice")
    expected = sent + result.warmup["sent"]
    if result.stored_events != expected or result.succeeded != expected:
        problems.append(
            f"{result.stored_events} events stored and {result.succeeded} deliveries succeeded "
            f"for {expected} webhooks sent"
        )
    return problems
