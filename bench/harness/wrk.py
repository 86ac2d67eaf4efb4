"""wrk runs: a Lua script that replays distinct pre-signed requests and reports JSON, and its parsed result.

The script reads the requests in ``init`` (per thread, so the main Lua state never loads them), hands
out each one once, counts statuses in ``response`` and reports from ``done`` on one line prefixed
``BENCH_WRK_JSON``. Run with ``-t1``: statuses and counters live in that single thread's Lua state and
``done`` reads them through ``thread:get``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from harness.procs import LOAD_CORE, Processes, clean_env, executable

MARKER = "BENCH_WRK_JSON "

LUA = r"""
local path = %(path)s
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  requests_ = {}
  statuses = {}
  handed = 0
  local f = assert(io.open(path, "rb"))
  while true do
    local size = f:read("*l")
    if not size then break end
    requests_[#requests_ + 1] = f:read(tonumber(size))
  end
  f:close()
  loaded = #requests_
end

function request()
  handed = handed + 1
  return requests_[((handed - 1) %% loaded) + 1]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local t = threads[1]
  local counts = {}
  for status, n in pairs(t:get("statuses")) do
    counts[#counts + 1] = string.format('"%%d":%%d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    '%(marker)s{"requests":%%d,"duration_us":%%d,"statuses":{%%s},' ..
    '"errors":{"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d},' ..
    '"latency_us":{"p50":%%d,"p90":%%d,"p99":%%d,"max":%%d,"mean":%%.1f},"handed":%%d,"loaded":%%d}\n',
    summary.requests, summary.duration, table.concat(counts, ","),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    t:get("handed"), t:get("loaded")))
end
"""


def write_script(path: Path, requests_file: Path) -> Path:
    path.write_text(LUA % {"path": json.dumps(str(requests_file)), "marker": MARKER})
    return path


@dataclass
class WrkResult:
    requests: int  # complete responses
    duration_s: float
    statuses: dict[int, int]
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    handed: int  # requests handed to wrk by the script (some may be cut off by the end of the run)
    loaded: int  # distinct requests available
    connections: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def answered_200(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def non_2xx(self) -> int:
        return self.requests - self.ok

    @property
    def socket_errors(self) -> int:
        return sum(self.errors[k] for k in ("connect", "read", "write", "timeout"))

    @property
    def rate(self) -> float:
        """Successful (2xx) responses per second."""
        return self.ok / self.duration_s if self.duration_s else 0.0

    def check(self) -> list[str]:
        """What makes this run untrustworthy: errors, or a request handed out twice."""
        problems = []
        if self.non_2xx:
            problems.append(f"{self.non_2xx} non-2xx responses {self.statuses}")
        if self.socket_errors:
            problems.append(f"socket errors {self.errors}")
        if self.handed > self.loaded:
            problems.append(
                f"wrk repeated requests ({self.handed} sent, {self.loaded} distinct): raise --rate-bound"
            )
        if self.requests == 0:
            problems.append("no complete response")
        return problems


def parse(output: str, connections: int) -> WrkResult:
    line = next((ln for ln in output.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")
    data = json.loads(line[len(MARKER) :])
    latency = data["latency_us"]
    return WrkResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        statuses={int(k): v for k, v in data["statuses"].items()},
        errors=data["errors"],
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        handed=data["handed"],
        loaded=data["loaded"],
        connections=connections,
    )


def run(
    procs: Processes, name: str, script: Path, url: str, *, connections: int, seconds: float
) -> WrkResult:
    """``wrk -t1 -c<connections> -d<seconds>`` on the load core; raises if wrk itself fails."""
    argv = [
        executable("wrk"),
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    output = procs.run(name, argv, core=LOAD_CORE, env=clean_env({}), timeout=seconds + 120)
    result = parse(output, connections)
    result.problems = result.check()
    return result
