"""Distinct, correctly signed Twilio "message received" webhooks, and the files wrk replays them from.

Each request carries its own MessageSid, so a service that deduplicates stores every one, and its
``X-Twilio-Signature`` is Twilio's own, computed by the ``twilio`` package's RequestValidator for the exact
URL the server verifies. The parameters are those of the reference ``gen_requests.py``: Twilio's inbound SMS.
"""

from __future__ import annotations

import functools
import os
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from twilio.request_validator import RequestValidator

AUTH_TOKEN = "5b1e" * 8
ACCOUNT_SID = "AC" + "be" * 16
WEBHOOK_PATH = "/webhooks/twilio/messages"
CHUNK = 5000


class SidSet(IntEnum):
    """The leading digits of a MessageSid name the set it belongs to, so two sets never share a sid."""

    WARMUP = 1
    MEASURED = 2
    STORED = 3  # history bulk-inserted before a run (delivery backlog, growth)
    LATENCY_WARMUP = 4
    LATENCY = 5


def message_sid(sid_set: SidSet, i: int) -> str:
    return f"SM{int(sid_set):04x}{i:028x}"


def message_params(sid_set: SidSet, i: int) -> dict[str, str]:
    sid = message_sid(sid_set, i)
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "SAN FRANCISCO",
        "FromZip": "94105",
        "SmsSid": sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": f"Load test message {i}: héllo ✓",
        "FromCountry": "US",
        "To": "+15005550006",
        "ToZip": "94105",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": f"+1415555{i % 10000:04d}",
        "ApiVersion": "2010-04-01",
    }


class _Form(dict[str, str]):
    """A dict with MultiDict's ``getall``, the validator's first lookup: the same signature, found without
    the two AttributeErrors per parameter a plain dict costs it (signing is then ~2x faster)."""

    def getall(self, key: str) -> list[str]:
        return [self[key]]


@dataclass(frozen=True, slots=True)
class SignedRequest:
    sid: str
    body: str  # form-encoded; ASCII
    signature: str


@functools.lru_cache(maxsize=65_536)
def _quoted(text: str) -> str:
    return urllib.parse.quote_plus(text)


def form_encode(params: dict[str, str]) -> str:
    """``urllib.parse.urlencode(params)``, byte for byte, with each key and value quoted once per set:
    most of a request's values are the same in every request, and urlencode was most of signing's cost."""
    return "&".join(f"{_quoted(key)}={_quoted(value)}" for key, value in params.items())


def signed_requests(
    url: str, sid_set: SidSet, start: int, stop: int, token: str = AUTH_TOKEN
) -> Iterator[SignedRequest]:
    validator = RequestValidator(token)
    for i in range(start, stop):
        params = message_params(sid_set, i)
        signature = validator.compute_signature(url, _Form(params))
        yield SignedRequest(params["MessageSid"], form_encode(params), signature)


def raw_http_request(url: str, request: SignedRequest) -> bytes:
    """The bytes wrk writes: the request exactly as Twilio would send it (HTTP/1.1, keep-alive)."""
    parts = urllib.parse.urlsplit(url)
    body = request.body.encode("ascii")
    head = (
        f"POST {parts.path} HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: {request.signature}\r\n"
        "User-Agent: TwilioProxy/1.1\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def _records(url: str, sid_set: SidSet, start: int, stop: int) -> bytes:
    out = bytearray()
    for request in signed_requests(url, sid_set, start, stop):
        raw = raw_http_request(url, request)
        out += b"%d\n" % len(raw) + raw
    return bytes(out)


def write_wrk_requests(path: Path, url: str, sid_set: SidSet, count: int, first: int = 0) -> None:
    """``count`` signed requests, the set's ``first`` onwards, as length-prefixed records
    (``<bytes>\\n<request>``), read by wrk_script."""
    stop = first + count
    chunks = [(start, min(start + CHUNK, stop)) for start in range(first, stop, CHUNK)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool, path.open("wb") as out:
        jobs = [pool.submit(_records, url, sid_set, start, stop) for start, stop in chunks]
        for job in jobs:
            out.write(job.result())
