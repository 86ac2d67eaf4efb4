"""The machine a run happened on, and how busy it was: results on a shared machine need both."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from harness import stores
from harness.context import BENCH_DIR


def _first(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _disk(path: Path) -> dict[str, Any]:
    """The filesystem holding ``path``: device, type, size, and whether the kernel calls it rotational."""
    best = ("", "", "")
    for line in Path("/proc/mounts").read_text().splitlines():
        device, mount, fstype = line.split()[:3]
        if str(path).startswith(mount) and len(mount) > len(best[1]):
            best = (device, mount, fstype)
    device, mount, fstype = best
    name = Path(device).name
    rotational = Path(f"/sys/block/{name}/queue/rotational")
    usage = shutil.disk_usage(path)
    return {
        "device": device,
        "mount": mount,
        "filesystem": fstype,
        "size_gb": round(usage.total / 1e9),
        "free_gb": round(usage.free / 1e9),
        "rotational": rotational.read_text().strip() == "1" if rotational.exists() else None,
    }


def _command(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else None


def describe_postgres(admin_url: str | None) -> str | None:
    """The server's version, or None when there is no server to reach there."""
    if not admin_url:
        return None

    try:
        return str(stores.on_postgres(admin_url, lambda conn: conn.fetchval("SHOW server_version")))
    except (OSError, asyncpg.PostgresError):
        return None


def describe(tmp: Path, postgres_url: str | None) -> dict[str, Any]:
    memory = _first("/proc/meminfo", "MemTotal")
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _first("/proc/cpuinfo", "model name"),
        "memory_gb": round(int(memory.split()[0]) / 1024 / 1024, 1) if memory else None,
        "disk": _disk(tmp),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": describe_postgres(postgres_url),
        "wrk": _command(["wrk", "-v"]),
        "git": _command(["git", "-C", str(BENCH_DIR), "describe", "--always", "--dirty"]),
    }


@dataclass
class CpuTimes:
    """Aggregate CPU time from /proc/stat, to say how busy the machine was during a run."""

    busy: int
    idle: int
    steal: int

    @classmethod
    def now(cls) -> CpuTimes:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        return cls(busy=user + nice + system + irq + softirq, idle=idle + iowait, steal=steal)

    def since(self, start: CpuTimes) -> dict[str, float]:
        busy, idle, steal = self.busy - start.busy, self.idle - start.idle, self.steal - start.steal
        total = max(busy + idle + steal, 1)
        return {"busy_pct": round(100 * busy / total, 1), "steal_pct": round(100 * steal / total, 1)}


def _group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group ``pgid``."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ...
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _core_ticks(core: int) -> tuple[int, int]:
    """(busy, total) ticks of one core since boot."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{core} "):
            user, nice, system, idle, iowait, irq, softirq, steal = [int(v) for v in line.split()[1:9]]
            busy = user + nice + system + irq + softirq + steal
            return busy, busy + idle + iowait
    return 0, 0


@dataclass
class CpuShare:
    """During a measured run: the target's CPU (100 = one full core) and how busy its core was in all.

    A core near 100% busy with the target well below it means other processes took the rest: on a
    shared machine the target did not have its core to itself.
    """

    target_pct: float
    core_busy_pct: float


class CpuMeter:
    def __init__(self, pgid: int, core: int):
        self.pgid, self.core = pgid, core
        self._cpu = _group_cpu_seconds(pgid)
        self._ticks = _core_ticks(core)
        self._started = time.monotonic()

    def stop(self) -> CpuShare:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        cpu = _group_cpu_seconds(self.pgid) - self._cpu
        busy, total = (now - then for now, then in zip(_core_ticks(self.core), self._ticks, strict=True))
        return CpuShare(round(100 * cpu / elapsed), round(100 * busy / max(total, 1)))
