"""The run's results: the printed table, the PASS/FAIL targets, and the JSON written to bench/results/."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.context import Config
from harness.delivery import DeliveryResult
from harness.growth import GrowthResult
from harness.ingest import IngestResult
from harness.latency import LatencyResult
from harness.machine import CpuShare


@dataclass
class Results:
    started_at: str
    command: str
    config: Config
    machine: dict[str, Any]
    load: dict[str, Any] = field(default_factory=dict)
    ingest: list[IngestResult] | None = None
    delivery: DeliveryResult | None = None
    latency: LatencyResult | None = None
    growth: GrowthResult | None = None
    errors: list[str] = field(default_factory=list)  # sections that could not finish

    def failures(self) -> list[str]:
        """Everything that makes a figure untrustworthy, each prefixed with where it happened."""
        found = [f"section {e}" for e in self.errors]
        for result in self.ingest or []:
            found += [f"ingest ({result.label}): {p}" for p in result.problems]
        if self.delivery:
            found += [f"delivery floor: {p}" for p in self.delivery.floor_problems]
            for d in self.delivery.drains:
                found += [f"delivery ({d.store}): {p}" for p in d.problems]
        if self.latency:
            found += [f"latency: {p}" for p in self.latency.problems]
        if self.growth:
            for run in (self.growth.empty, self.growth.full):
                if run is not None:
                    found += [f"growth ({run.label}): {p}" for p in run.problems]
            for page in self.growth.pages:
                found += [f"growth ({page.label}): {p}" for p in page.problems]
        return found


@dataclass
class Check:
    target: str
    value: float | None
    passed: bool | None  # None: not measured in this run
    shown: str


# --- formatting -----------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def _divide(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _table(header: list[str], rows: list[list[str]], align: str) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [c.ljust(w) if a == "<" else c.rjust(w) for c, w, a in zip(cells, widths, align, strict=True)]
        return "  " + "  ".join(parts).rstrip()

    return [line(header), "  " + "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


# --- sections -------------------------------------------------------------------------------------


def _ingest_by_key(results: Results) -> dict[str, IngestResult]:
    return {r.key: r for r in results.ingest or []}


def _cpu_cell(share: CpuShare | None) -> str:
    return "—" if share is None else f"{share.target_pct}% ({share.core_busy_pct}%)"


def _stored_cell(r: IngestResult) -> str:
    if r.skipped:
        return f"skipped: {r.skipped}"
    if r.problems:
        return "FAILURE (below)"
    if r.stored is None or r.measured is None:
        return "— (stores nothing)"
    extra = r.stored.events - r.measured.answered_200
    deliveries = f", {r.stored.deliveries:,} deliveries" if r.stored.deliveries is not None else ""
    return f"ok: {r.stored.events:,} events{deliveries} for {r.measured.answered_200:,} 200s (+{extra})"


def ingest_section(results: Results) -> list[str]:
    if results.ingest is None:
        return []
    config, by_key = results.config, _ingest_by_key(results)
    refs = [by_key.get(k) for k in ("asgi", "fastapi", "peer")]
    rows = []
    for index, r in enumerate(results.ingest or [], start=1):
        m = r.measured
        ratios = [_ratio(_divide(r.rate, ref.rate if ref else None)) for ref in refs]
        rows.append(
            [
                f"({index}) {r.label}",
                _num(r.rate),
                _num(m.p50_ms if m else None, 1),
                _num(m.p99_ms if m else None, 1),
                *ratios,
                _cpu_cell(r.cpu),
                _num(r.per_cpu_second),
                _stored_cell(r),
            ]
        )
    header = [
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "x(1)",
        "x(2)",
        "x(3)",
        "CPU (core 0)",
        "req/CPU-s",
        "verified",
    ]
    title = (
        f"1. Ingest: wrk -t1 -c{config.connections}, {config.duration} s measured after a {config.warmup} s "
        "warm-up; every request distinct and signed"
    )
    lines = [title, *_table(header, rows, "<rrrrrrrr<")]
    if config.rounds > 1:
        spread = "; ".join(
            f"({index}) " + " / ".join(_num(rate) for rate in r.round_rates)
            for index, r in enumerate(results.ingest or [], start=1)
            if r.round_rates
        )
        lines.append(
            f"  {config.rounds} interleaved rounds (every target once per round); each row is the target's "
            f"median round. req/s per round: {spread}"
        )
    return lines


def delivery_section(results: Results) -> list[str]:
    d = results.delivery
    if d is None:
        return []
    rows = [["aiohttp client floor (no database)", _num(d.floor_rate), "1.00x", "—", "—", "—"]]
    for drain in d.drains:
        if drain.skipped:
            rows.append(
                [f"switchboard worker, {drain.store}", "—", "—", "—", "—", f"skipped: {drain.skipped}"]
            )
            continue
        verified = "FAILURE (below)" if drain.problems else f"ok: {drain.received:,} received, all succeeded"
        rows.append(
            [
                f"switchboard worker, {drain.store}",
                _num(drain.rate),
                _ratio(_divide(drain.rate, d.floor_rate)),
                _num(drain.rate_from_launch),
                _cpu_cell(drain.cpu),
                verified,
            ]
        )
    title = (
        f"2. Delivery: {d.count:,} pending deliveries drained by one worker (core 0) to a receiver (core 1); "
        f"{d.envelope_bytes:,}-byte envelopes, concurrency {d.concurrency}"
    )
    header = ["sender", "deliveries/s", "x floor", "/s from launch", "CPU (core 0)", "verified"]
    lines = [title, *_table(header, rows, "<rrrr<")]
    if len(d.floor_rates) > 1 or any(len(drain.round_rates) > 1 for drain in d.drains):
        spread = "; ".join(
            f"{name} " + " / ".join(_num(rate) for rate in rates)
            for name, rates in [
                ("floor", d.floor_rates),
                *((drain.store, drain.round_rates) for drain in d.drains),
            ]
            if rates
        )
        lines.append(f"  interleaved rounds; each row is the median round. deliveries/s per round: {spread}")
    return lines


def latency_section(results: Results) -> list[str]:
    lat = results.latency
    if lat is None:
        return []
    report = lat.report
    if not report:
        return [f"3. End-to-end latency: no result ({'; '.join(lat.problems)})"]
    rows = [
        [
            "webhook sent → envelope received",
            *(_num(lat.ms("latency_ms", q), 1) for q in ("p50", "p99", "max")),
        ],
        [
            "webhook sent → 200 from Switchboard",
            *(_num(lat.ms("response_ms", q), 1) for q in ("p50", "p99", "max")),
        ],
        [
            "sender lag behind its schedule",
            *(_num(lat.ms("sender_lag_ms", q), 1) for q in ("p50", "p99", "max")),
        ],
    ]
    title = (
        f"3. End-to-end latency: {lat.rate} events/s for {lat.duration} s (open loop), serve + in-process "
        f"worker, SQLite; {report['arrived']:,}/{report['sent']:,} arrived, {report['duplicates']} twice"
    )
    return [title, *_table(["ms", "p50", "p99", "max"], rows, "<rrr")]


def growth_section(results: Results) -> list[str]:
    g = results.growth
    if g is None:
        return []
    rows = []
    for r in (g.empty, g.full):
        if r is None:
            continue
        p50, p99 = (r.measured.p50_ms, r.measured.p99_ms) if r.measured else (None, None)
        cells = [_num(r.rate), _num(p50, 1), _num(p99, 1), _cpu_cell(r.cpu), _num(r.per_cpu_second)]
        rows.append([r.label, *cells, _stored_cell(r)])
    lines = [
        f"4. Growth: SQLite with {g.rows:,} events stored ({g.database_bytes / 1e9:.2f} GB, "
        f"filled in {g.seed_seconds:.0f} s); full / empty = {_ratio(g.ratio)} in req/s, "
        f"{_ratio(g.ratio_per_cpu_second)} in req/CPU-s",
        *_table(
            ["database", "req/s", "p50 ms", "p99 ms", "CPU (core 0)", "req/CPU-s", "verified"],
            rows,
            "<rrrrr<",
        ),
    ]
    rounds = [(r.label, r.round_rates) for r in (g.empty, g.full) if r is not None and len(r.round_rates) > 1]
    if rounds:
        spread = "; ".join(f"{label} " + " / ".join(_num(rate) for rate in rates) for label, rates in rounds)
        lines.append(f"  interleaved rounds; each row is the median round. req/s per round: {spread}")
    lines.append("")
    page_rows = [
        [f"GET /api/v1/events?limit=50, {p.label}", *(_num(p.ms.get(q), 1) for q in ("p50", "p99", "max"))]
        for p in g.pages
    ]
    return lines + _table(["ms", "p50", "p99", "max"], page_rows, "<rrr")


# --- targets --------------------------------------------------------------------------------------


def _at_least(target: str, value: float | None, bound: float, unit: str = "x") -> Check:
    return _check(target, value, value is not None and value >= bound, unit)


def _at_most(target: str, value: float | None, bound: float, unit: str = "ms") -> Check:
    return _check(target, value, value is not None and value <= bound, unit)


def _check(target: str, value: float | None, passed: bool, unit: str) -> Check:
    if value is None:
        return Check(target, None, None, "not measured")
    return Check(target, value, passed, f"{value:.2f}x" if unit == "x" else f"{value:.1f} {unit}")


def _ingest_checks(results: Results) -> list[Check]:
    by_key = _ingest_by_key(results)

    def ratio(key: str, reference: str) -> float | None:
        r, ref = by_key.get(key), by_key.get(reference)
        return _divide(r.rate if r else None, ref.rate if ref else None)

    def p99(key: str) -> float | None:
        r = by_key.get(key)
        return r.measured.p99_ms if r and r.measured else None

    connections = results.config.connections
    return [
        _at_least("SQLite ingest >= 3.0x the peer (3)", ratio("sqlite", "peer"), 3.0),
        _at_least("SQLite ingest >= 0.8x bare FastAPI (2)", ratio("sqlite", "fastapi"), 0.8),
        _at_most(f"SQLite ingest p99 <= 50 ms at {connections} connections", p99("sqlite"), 50),
        _at_least("PostgreSQL ingest >= 2.0x the peer (3)", ratio("postgres", "peer"), 2.0),
        _at_most(f"PostgreSQL ingest p99 <= 50 ms at {connections} connections", p99("postgres"), 50),
    ]


def _delivery_checks(results: Results) -> list[Check]:
    d = results.delivery
    if d is None:
        return [_at_least("delivery >= 0.5x the client floor", None, 0.5)]
    return [
        _at_least(
            f"delivery ({drain.store}) >= 0.5x the client floor", _divide(drain.rate, d.floor_rate), 0.5
        )
        for drain in d.drains
    ]


def _latency_checks(results: Results) -> list[Check]:
    lat = results.latency
    rate = lat.rate if lat else results.config.e2e_rate
    return [
        _at_most(
            f"end-to-end p50 <= 20 ms at {rate} events/s", lat.ms("latency_ms", "p50") if lat else None, 20
        ),
        _at_most(
            f"end-to-end p99 <= 100 ms at {rate} events/s", lat.ms("latency_ms", "p99") if lat else None, 100
        ),
    ]


def _growth_checks(results: Results) -> list[Check]:
    g = results.growth
    rows = f"{g.rows if g else results.config.rows:,}"
    found = [_at_least(f"ingest with {rows} events stored >= 0.9x empty", g.ratio if g else None, 0.9)]
    for page in g.pages if g else []:
        found.append(_at_most(f"a page of events <= 20 ms p50 ({page.label})", page.ms.get("p50"), 20))
    return found


def checks(results: Results) -> list[Check]:
    """The targets of issue 5, each PASS, FAIL or (not measured in this run) SKIP."""
    return [
        *_ingest_checks(results),
        *_delivery_checks(results),
        *_latency_checks(results),
        *_growth_checks(results),
    ]


# --- output ---------------------------------------------------------------------------------------


def render(results: Results) -> str:
    m = results.machine
    head = (
        f"Switchboard benchmark, {results.started_at}: {m['nproc']} cores ({m['cpu_model']}), "
        f"{m['memory_gb']} GB; server on core 0, load generator on core 1"
    )
    load = results.load
    noise = (
        f"Machine load before the run {load.get('loadavg_before')} (1/5/15 min); during it CPU busy "
        f"{load.get('busy_pct')}%, steal {load.get('steal_pct')}%. Shared machines make figures noisy."
    )
    legend = (
        "CPU (core 0): the target's own processes in % of one core, and in brackets how busy core 0 was\n"
        "in all; req/CPU-s divides req/s by that CPU. PostgreSQL's own processes are not pinned or counted."
    )
    lines = [head, noise, legend, f"Command: {results.command}", ""]
    for section in (ingest_section, delivery_section, latency_section, growth_section):
        part = section(results)
        if part:
            lines += [*part, ""]
    lines.append("Targets")
    marks = {True: "PASS", False: "FAIL", None: "SKIP"}
    rows = [[marks[c.passed], c.target, c.shown] for c in checks(results)]
    lines += _table(["", "target", "measured"], rows, "<<r")
    failures = results.failures()
    lines.append("")
    if failures:
        lines.append(f"Verification: {len(failures)} FAILURE(S) — these figures cannot be trusted:")
        lines += [f"  FAILURE: {f}" for f in failures]
    else:
        lines.append("Verification: every check passed (stored rows match the 200s; every delivery arrived).")
    notes = [f"{r.label}: {n}" for r in results.ingest or [] for n in r.notes]
    lines += [f"  note: {n}" for n in notes]
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        properties = ("rate", "rate_from_launch", "ratio", "ratio_per_cpu_second", "per_cpu_second")
        for name in (*properties, "ok", "answered_200", "non_2xx", "socket_errors"):
            attribute = getattr(type(value), name, None)
            if isinstance(attribute, property):
                data[name] = getattr(value, name)
        return data
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def write_json(results: Results, path: Path) -> None:
    document = _jsonable(results)
    document["targets"] = [_jsonable(c) for c in checks(results)]
    document["failures"] = results.failures()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
