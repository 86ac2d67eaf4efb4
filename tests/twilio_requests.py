"""Building webhook requests as Twilio sends them, signed with the ``twilio`` package's RequestValidator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from tests.conftest import AUTH_TOKEN


class MultiParams(dict[str, list[str]]):
    """Repeated keys for RequestValidator (it reads them through ``getall``, like aiohttp's MultiDict)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def sign(url: str, params: Mapping[str, Any], token: str = AUTH_TOKEN) -> str:
    if any(isinstance(v, list) for v in params.values()):
        multi = MultiParams({k: v if isinstance(v, list) else [v] for k, v in params.items()})
        return str(RequestValidator(token).compute_signature(url, multi))
    return str(RequestValidator(token).compute_signature(url, dict(params)))


async def post_signed(
    client: httpx.AsyncClient,
    path: str,
    params: Mapping[str, Any],
    *,
    token: str = AUTH_TOKEN,
    signed_url: str | None = None,
    query: str = "",
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST ``params`` form-encoded to ``path`` (+ raw ``query``), signed for ``signed_url``.

    ``signed_url`` defaults to the client's base URL + path + query: what Twilio would have been given.
    """
    target = path + (f"?{query}" if query else "")
    url = signed_url or f"{client.base_url}".rstrip("/") + target
    all_headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(url, params, token),
    }
    all_headers.update(headers or {})
    return await client.post(target, content=urlencode(params, doseq=True), headers=all_headers)
