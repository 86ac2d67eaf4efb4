"""``--profile``: py-spy flame graphs of Switchboard processes during their measured runs.

py-spy samples from the load core without pausing the target (``--nonblocking``), but it still takes
CPU from the load generator there: figures of a profiled run are for finding where time goes, not for
the table.
"""

from __future__ import annotations

import contextlib
import subprocess

from harness.context import Bench
from harness.procs import LOAD_CORE, Child, clean_env, executable


def start(bench: Bench, target: Child, name: str, seconds: float) -> Child | None:
    if bench.profile_dir is None:
        return None
    output = bench.profile_dir / f"{name}.svg"
    argv = [
        executable("py-spy"),
        "record",
        "--pid",
        str(target.pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        "200",
        "--nonblocking",
        "--subprocesses",  # gunicorn's worker is a child of its master
        "--output",
        str(output),
    ]
    return bench.procs.start(f"py-spy-{name}", argv, core=LOAD_CORE, env=clean_env({}))


def finish(bench: Bench, profiler: Child | None) -> None:
    if profiler is None:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        profiler.popen.wait(30)
    bench.procs.stop(profiler)
