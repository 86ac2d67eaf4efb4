"""Prefixed, time-ordered identifiers (``evt_…``, ``sub_…``): sortable so they double as cursors."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def _encode(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, rem = divmod(number, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """``prefix_`` + 10 chars of milliseconds + 16 chars of entropy, monotonic within a process.

    Within one millisecond the random part is incremented instead of redrawn, so ids made in order
    by one process sort in that order (cursor pagination relies on it).
    """
    global _last_ms, _counter
    with _lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms:
            _counter += 1
            now = _last_ms
        else:
            _last_ms = now
            _counter = int.from_bytes(os.urandom(10), "big") >> 2  # leave room to increment
        return f"{prefix}_{_encode(now, 10)}{_encode(_counter, 16)}"
