"""What an ``api_request`` may call: a 2010-04-01 JSON path below the configured account, nothing else.

The path is relative to ``/2010-04-01/Accounts/{AccountSid}``. It is refused (422) when it could leave
that place or be read two ways: an absolute URL, ``..`` or ``.`` segments, ``//``, backslashes,
percent-escapes (``%2e%2e``, ``%2f``), a query or fragment (parameters go in ``params``), or any
character Twilio's paths do not use. It must end in ``.json``: without it Twilio answers XML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from app.errors import Unprocessable

METHODS = ("GET", "POST", "DELETE")
_SEGMENT = re.compile(r"[A-Za-z0-9_\-.~]+")
Scalar = str | int | float | bool


def account_path(path: str, account_sid: str) -> str:
    """``/Messages.json`` → ``/Accounts/AC…/Messages.json``, below the API base URL."""
    if "://" in path or not path.startswith("/") or path.startswith("//"):
        raise Unprocessable("path: give a path relative to the account, e.g. /Messages.json")
    if "?" in path or "#" in path:
        raise Unprocessable("path: put parameters in `params`, not in the path")
    segments = path[1:].split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise Unprocessable("path: empty, '.' and '..' segments are not allowed")
        if not _SEGMENT.fullmatch(segment):
            raise Unprocessable(f"path: segment {segment!r} has characters Twilio paths do not use")
    if not path.endswith(".json"):
        raise Unprocessable("path: must end in .json (without it Twilio answers XML)")
    return f"/Accounts/{quote(account_sid, safe='')}{path}"


def param_pairs(params: Mapping[str, Scalar | Sequence[Scalar] | None]) -> tuple[tuple[str, str], ...]:
    """Twilio parameters as wire pairs: a list repeats its key, booleans are ``true``/``false``."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        items: Sequence[Any] = value if isinstance(value, list | tuple) else [value]
        pairs.extend((key, _text(item)) for item in items)
    return tuple(pairs)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
