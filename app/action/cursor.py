"""The list cursor: Twilio's ``next_page_uri``, base64url-encoded so clients treat it as opaque.

Twilio's advice is to follow ``next_page_uri`` rather than build pages (it carries ``PageToken``, the
filters and ``PageSize``), so the cursor is exactly that URI. Decoding checks that it is a relative URI
of the list it is used with, so a cursor cannot point the engine at some other path.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import urlsplit

from app.errors import Unprocessable

MAX_CURSOR_LENGTH = 4096


def encode(next_page_uri: str) -> str:
    return base64.urlsafe_b64encode(next_page_uri.encode("utf-8")).decode("ascii").rstrip("=")


def decode(cursor: str, path_pattern: re.Pattern[str]) -> str:
    """The ``next_page_uri`` inside ``cursor``; Unprocessable unless its path matches ``path_pattern``."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise Unprocessable("query.cursor: not a cursor this API returned")
    try:
        uri = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        raise Unprocessable("query.cursor: not a cursor this API returned") from None
    parts = urlsplit(uri)
    if parts.scheme or parts.netloc or not path_pattern.fullmatch(parts.path):
        raise Unprocessable("query.cursor: not a cursor for this list")
    return uri
