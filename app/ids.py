"""Prefixed, time-ordered identifiers (``evt_…``, ``sub_…``): sortable so they double as cursors."""

from __future__ import annotations

import os
import re
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id(prefix: str) -> str:
    """``prefix_`` + 32 hex digits: 48 bits of milliseconds then 80 bits of entropy, monotonic per process.

    Hex because its text sorts like its number and formatting it is one C call (ids are made on
    every webhook).

    Within one millisecond the entropy is incremented instead of redrawn, so ids made in order by one
    process sort in that order (cursor pagination relies on it).
    """
    global _last_ms, _counter
    with _lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms:
            _counter += 1
            now = _last_ms
        else:
            _last_ms = now
            _counter = int.from_bytes(os.urandom(10), "big") >> 1  # leave room to increment
        value = (now << 80) | _counter
    return f"{prefix}_{value:032x}"


_SHAPE = re.compile(r"[a-z]+_[0-9a-f]{32}")


def is_id(value: str, prefix: str) -> bool:
    """Whether ``value`` is an id ``new_id(prefix)`` could have made."""
    return value.startswith(f"{prefix}_") and _SHAPE.fullmatch(value) is not None
