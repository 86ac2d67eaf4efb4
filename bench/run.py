"""Switchboard's benchmark: every measurement of issue 5 in one go, on one machine.

The server under test runs on core 0 (``taskset -c 0``) and the load generator on core 1; every target is
warmed up before it is measured; every stored result is checked against the database. Prints a table and
writes the figures to bench/results/<timestamp>.json. See bench/README.md.

    python bench/run.py                 # everything (about 7 minutes)
    python bench/run.py --quick         # the same, shorter runs and smaller sets (under 2 minutes)
    python bench/run.py --only ingest --only growth --rows 1000000

Exit status: 0 when every figure was verified and every target met, 3 when a target was missed, 1 when a
measurement failed its verification (or could not run), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import delivery, growth, ingest, latency, machine, report
from harness.context import BENCH_DIR, SECTIONS, Bench, Config, pin_to_load_core, say
from harness.procs import Processes, interrupt_on_signals
from harness.stores import PostgresDatabases
from harness.twilio_requests import SidSet

FULL = {
    "rounds": 3,
    "duration": 10,
    "warmup": 2,
    "deliveries": 20_000,
    "e2e_duration": 10,
    "rows": 1_000_000,
    "api_samples": 200,
}
QUICK = {
    "rounds": 1,
    "duration": 3,
    "warmup": 1,
    "deliveries": 2_000,
    "e2e_duration": 3,
    "rows": 30_000,
    "api_samples": 100,
}
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"

SECTION_RUNNERS: dict[str, Callable[[Bench], Any]] = {
    "ingest": ingest.run,
    "delivery": delivery.run,
    "latency": latency.run,
    "growth": growth.run,
}


def parse_args(argv: Sequence[str] | None) -> tuple[Config, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs and small sets (< 2 minutes)")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only this section (repeatable)"
    )
    parser.add_argument("--duration", type=int, help="seconds of each measured wrk run (10; quick 3)")
    parser.add_argument("--warmup", type=int, help="seconds of each warm-up wrk run (2; quick 1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument(
        "--rounds", type=int, help="interleaved ingest rounds, the median reported (3; quick 1)"
    )
    parser.add_argument(
        "--rate-bound",
        type=int,
        default=40_000,
        help="req/s no target reaches: each run gets rate x seconds x 1.5 distinct requests (40000)",
    )
    parser.add_argument("--deliveries", type=int, help="pending deliveries to drain (20000; quick 2000)")
    parser.add_argument("--delivery-concurrency", type=int, default=64, help="worker and floor concurrency")
    parser.add_argument("--e2e-rate", type=int, default=200, help="events/s of the latency run (200)")
    parser.add_argument("--e2e-duration", type=int, help="seconds of the latency run (10; quick 3)")
    parser.add_argument("--rows", type=int, help="events stored before the growth run (1000000; quick 30000)")
    parser.add_argument(
        "--api-samples", type=int, help="requests per measured page of events (200; quick 100)"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SWITCHBOARD_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a server where the bench may create and drop its own databases "
        "(default: $SWITCHBOARD_BENCH_POSTGRES_URL or %(default)s)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL measurements")
    parser.add_argument("--profile", action="store_true", help="py-spy flame graphs next to the JSON")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temp dir (logs, databases)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    config = Config(
        sections=tuple(s for s in SECTIONS if s in (args.only or SECTIONS)),
        duration=args.duration or sizes["duration"],
        warmup=args.warmup or sizes["warmup"],
        connections=args.connections,
        rounds=args.rounds or sizes["rounds"],
        rate_bound=args.rate_bound,
        deliveries=args.deliveries or sizes["deliveries"],
        delivery_concurrency=args.delivery_concurrency,
        e2e_rate=args.e2e_rate,
        e2e_duration=args.e2e_duration or sizes["e2e_duration"],
        rows=args.rows if args.rows is not None else sizes["rows"],
        api_samples=args.api_samples or sizes["api_samples"],
        postgres_url=None if args.no_postgres else args.postgres_url,
        profile=args.profile,
        quick=args.quick,
    )
    return config, args


def preflight(config: Config) -> None:
    """Stop before starting anything if this machine cannot run the bench as designed."""
    if (os.cpu_count() or 1) < 2:
        sys.exit("bench: needs 2 cores (server on core 0, load generator on core 1)")
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is not installed (apt-get install wrk util-linux)")
    if config.profile and shutil.which("py-spy", path=str(Path(sys.executable).parent)) is None:
        sys.exit("bench: --profile needs py-spy (pip install py-spy)")


def postgres_or_none(config: Config) -> tuple[PostgresDatabases | None, str]:
    """The bench's PostgreSQL databases, or None and why not (waits out a restart of the server)."""
    if config.postgres_url is None:
        return None, "--no-postgres"
    deadline = time.monotonic() + 30
    while machine.describe_postgres(config.postgres_url) is None:
        if time.monotonic() > deadline:
            say(f"PostgreSQL not reachable at {config.postgres_url}: its measurements are skipped")
            return None, f"PostgreSQL not reachable at {config.postgres_url}"
        time.sleep(1)
    return PostgresDatabases(config.postgres_url), ""


def run_sections(bench: Bench, results: report.Results) -> None:
    for section in bench.config.sections:
        try:
            setattr(results, section, SECTION_RUNNERS[section](bench))
        except Exception as exc:  # the other sections' figures are still worth having
            traceback.print_exc()
            results.errors.append(f"{section}: {type(exc).__name__}: {exc}")


def measure(config: Config, temp: Path, results: report.Results, profile_dir: Path | None) -> None:
    postgres, why_not = postgres_or_none(config)
    with Processes(temp) as procs:
        try:
            bench = Bench(config, procs, temp, postgres, profile_dir, postgres_skipped=why_not)
            if {"ingest", "growth"} & set(config.sections):
                bench.wrk_script(SidSet.WARMUP)
                for round_ in range(config.rounds):
                    bench.wrk_script(SidSet.MEASURED, round_)
            pin_to_load_core()
            cpu_before = machine.CpuTimes.now()
            run_sections(bench, results)
            results.load.update(machine.CpuTimes.now().since(cpu_before))
        finally:
            procs.stop_all()
            if postgres is not None:
                postgres.drop_all()


def main(argv: Sequence[str] | None = None) -> int:
    config, args = parse_args(argv)
    preflight(config)
    interrupt_on_signals()
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    results_path = BENCH_DIR / "results" / f"{stamp}.json"
    profile_dir = BENCH_DIR / "results" / f"{stamp}-profiles" if config.profile else None
    if profile_dir:
        profile_dir.mkdir(parents=True)
    temp = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    results = report.Results(
        started_at=started.strftime("%Y-%m-%d %H:%M UTC"),
        command=shlex.join(["python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)]),
        config=config,
        machine=machine.describe(temp, config.postgres_url),
        load={"loadavg_before": [round(x, 2) for x in os.getloadavg()]},
    )
    begun = time.monotonic()
    try:
        measure(config, temp, results, profile_dir)
    except KeyboardInterrupt:
        say("interrupted: every process stopped, databases dropped")
        return 130
    finally:
        if args.keep_temp:
            say(f"kept {temp}")
        else:
            shutil.rmtree(temp, ignore_errors=True)
    results.load["seconds"] = round(time.monotonic() - begun)
    report.write_json(results, results_path)
    print(report.render(results))
    print(f"\nResults: {results_path.relative_to(BENCH_DIR.parent)} ({results.load['seconds']} s)")
    if results.failures():
        return 1
    return 3 if any(c.passed is False for c in report.checks(results)) else 0


if __name__ == "__main__":
    sys.exit(main())
