"""The one JSON encoding for stored and forwarded documents: compact, unicode kept as is (not \\u escapes)."""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
