"""Fixtures for the fault-injection tests: a logged seed, the figures each test measured, and the rest.

Every test here injects a real fault (``kill -9``, a stopped callback, a stopped PostgreSQL, SIGTERM,
hostile input) and also checks that the fault really happened. The figures they measure are printed
at the end of the run under "reliability figures" (and written as JSON to the file named by
``SWITCHBOARD_RELIABILITY_FIGURES`` when set); docs/reliability.md quotes them.
"""

from __future__ import annotations

import json
import os
import random
import socket
from pathlib import Path
from typing import Any

import pytest

SEED_ENV = "SWITCHBOARD_TEST_SEED"
FIGURES_ENV = "SWITCHBOARD_RELIABILITY_FIGURES"

_FIGURES: dict[str, dict[str, Any]] = {}


class Figures:
    """What one test measured, kept under its name for the end-of-run summary."""

    def __init__(self, test_name: str):
        self._values = _FIGURES.setdefault(test_name, {})

    def __setitem__(self, name: str, value: Any) -> None:
        self._values[name] = value

    def __getitem__(self, name: str) -> Any:
        return self._values[name]


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    return Figures(request.node.nodeid.split("::", 1)[-1])


@pytest.fixture
def seed(request: pytest.FixtureRequest, figures: Figures) -> int:
    """The run's random seed: ``SWITCHBOARD_TEST_SEED`` to replay a run, else a fresh one (logged)."""
    value = int(os.environ.get(SEED_ENV) or random.SystemRandom().randrange(2**32))
    figures["seed"] = value
    print(f"\n{request.node.nodeid}: seed {value} (replay with {SEED_ENV}={value})")
    return value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    terminalreporter.write_sep("=", "reliability figures")
    for test, values in _FIGURES.items():
        terminalreporter.write_line(f"{test}: {json.dumps(values, sort_keys=True)}")
    target = os.environ.get(FIGURES_ENV)
    if target:
        Path(target).write_text(json.dumps(_FIGURES, indent=2, sort_keys=True) + "\n")


def stable_port() -> int:
    """A free port below the ephemeral range, for a server restarted on the same port many times.

    While the server is down, clients retrying ``connect()`` to 127.0.0.1:P get ephemeral source ports;
    if one of them is P itself the kernel connects the socket to itself (a TCP "self-connect"), and
    the restarted server then cannot bind P. Ports outside the ephemeral range cannot be taken so.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for port in random.sample(range(10000, max(low, 10001)), 50):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")
