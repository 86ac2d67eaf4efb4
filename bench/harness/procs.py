"""Child processes: started pinned to a core, each in a session of its own, always stopped.

Every process the bench starts goes through ``Processes``, which stops them all on the way out (normal
end, failure, Ctrl-C or SIGTERM). A child leads its own session, so stopping it signals its whole process
group (gunicorn's worker goes down with its master), and Ctrl-C in the terminal reaches only the bench,
which then stops its children in order.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SERVER_CORE = 0
LOAD_CORE = 1
BIN = Path(sys.executable).parent  # the venv's bin: switchboard, uvicorn, gunicorn


def executable(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found (looked in {BIN} and on PATH)")
    return path


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The bench's environment without any SWITCHBOARD_/TWILIO_ setting of the caller's, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "TWILIO_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


@dataclass
class Child:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class ChildFailed(RuntimeError):
    pass


class Processes:
    """Starts children (pinned with ``taskset``), logs each to a file, and stops every one at exit."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self._children: list[Child] = []

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        core: int | None,
        env: Mapping[str, str],
        cwd: Path | None = None,
        stdout_to_log: bool = True,
    ) -> Child:
        command = [*(["taskset", "-c", str(core)] if core is not None else []), *argv]
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                command,
                env=dict(env),
                cwd=cwd,
                stdout=log if stdout_to_log else subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        child = Child(name, popen, log_path)
        self._children.append(child)
        return child

    def run(
        self, name: str, argv: Sequence[str], *, core: int | None, env: Mapping[str, str], timeout: float
    ) -> str:
        """Run a child to its end; return its stdout (stderr goes to its log). Raises if it fails."""
        child = self.start(name, argv, core=core, env=env, stdout_to_log=False)
        try:
            out, _ = child.popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(child)
            raise ChildFailed(f"{name} did not finish within {timeout:.0f} s\n{child.log_tail()}") from None
        except BaseException:  # Ctrl-C or SIGTERM while waiting: the child goes too
            self.stop(child)
            raise
        self._forget(child)
        if child.popen.returncode != 0:
            raise ChildFailed(f"{name} exited with {child.popen.returncode}\n{child.log_tail()}")
        return out.decode(errors="replace")

    def stop(self, child: Child, timeout: float = 15) -> None:
        """SIGTERM to the child's process group, SIGKILL if it is still there after ``timeout``."""
        if child.running():
            _signal_group(child, signal.SIGTERM)
            try:
                child.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(child, signal.SIGKILL)
                child.popen.wait(5)
        self._forget(child)

    def stop_all(self) -> None:
        for child in reversed(list(self._children)):
            self.stop(child)

    def _forget(self, child: Child) -> None:
        if child in self._children:
            self._children.remove(child)


def _signal_group(child: Child, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)  # the child leads its own session: its group id is its pid


def wait_http(child: Child, url: str, timeout: float = 60, *, expect_ok: bool = False) -> None:
    """Wait until ``url`` answers (with a 2xx if ``expect_ok``); fail at once if the child exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.running():
            raise ChildFailed(f"{child.name} exited early ({child.popen.returncode}):\n{child.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            if not expect_ok:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise ChildFailed(f"{child.name} not answering at {url} after {timeout:.0f} s:\n{child.log_tail()}")


def interrupt_on_signals() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt, so ``finally`` blocks stop children and drop databases.

    SIGINT is set explicitly: a process started in the background by a non-interactive shell inherits
    it ignored, and the bench must still stop cleanly when told to.
    """

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, handler)
