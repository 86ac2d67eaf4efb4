"""Running the real ``switchboard`` command as child processes, for tests that kill and restart it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ACCOUNT_SID, AUTH_TOKEN

SWITCHBOARD = shutil.which("switchboard") or str(Path(sys.executable).parent / "switchboard")


def env_for(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a ``switchboard`` child process on ``database_url``, with the test account,
    callbacks on loopback allowed and SQLite on ``NORMAL`` (a process crash loses nothing either way)."""
    return {
        "SWITCHBOARD_DATABASE_URL": database_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SWITCHBOARD_ALLOW_PRIVATE_CALLBACKS": "true",
        "SWITCHBOARD_SQLITE_SYNCHRONOUS": "NORMAL",
        **extra,
    }


def json_records(log: str) -> list[dict[str, Any]]:
    """The JSON log lines of a process's output (the default SWITCHBOARD_LOG_FORMAT), parsed."""
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A ``switchboard`` child process with its output kept in a log file."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], cwd: Path, log_name: str):
        self.log_path = cwd / log_name
        self._log = self.log_path.open("ab")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "TWILIO_"))}
        full_env.update(env)
        self.popen = subprocess.Popen(
            [SWITCHBOARD, *args], env=full_env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs (the crash case)."""
        self.popen.kill()
        self.popen.wait(10)

    def terminate(self, timeout: float = 15) -> int:
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout)

    def close(self) -> None:
        if self.popen.poll() is None:
            self.kill()
        self._log.close()


class Server(Process):
    def __init__(self, env: Mapping[str, str], cwd: Path, *extra: str, port: int | None = None):
        self.port = port or free_port()
        super().__init__(["serve", "--port", str(self.port), *extra], env, cwd, f"serve-{self.port}.log")
        self.url = f"http://127.0.0.1:{self.port}"
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"switchboard serve exited early ({self.popen.returncode}):\n{self.log()[-5000:]}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"switchboard serve not ready after {timeout}s:\n{self.log()}")
