"""Progress of a long command on stderr: a bar redrawn in place on a terminal, plain lines elsewhere.

Off a terminal (a log file, CI, ``kubectl logs``) a carriage-return bar is noise, so it prints a
line with the count and the rate at most every ``every`` seconds, and once at the end.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 30


class Progress:
    def __init__(
        self,
        total: int,
        noun: str,
        stream: TextIO | None = None,
        *,
        every: float = 2.0,
        tty: bool | None = None,
    ):
        self.total = total
        self.done = 0
        self._noun = noun
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty() if tty is None else tty
        self._every = every
        self._started = time.monotonic()
        self._shown_at = -float("inf")

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self._tty or now - self._shown_at >= self._every:
            self._show(now)

    def finish(self) -> None:
        self._show(time.monotonic())
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()

    def _show(self, now: float) -> None:
        self._shown_at = now
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        counts = f"{self.done}/{self.total} {self._noun}, {rate:.0f}/s"
        if self._tty:
            fraction = min(self.done / self.total, 1.0) if self.total else 1.0
            filled = round(fraction * _WIDTH)
            bar = "#" * filled + "-" * (_WIDTH - filled)
            self._stream.write(f"\r[{bar}] {fraction:4.0%} {counts}")
        else:
            self._stream.write(f"{counts} ({elapsed:.1f}s)\n")
        self._stream.flush()
