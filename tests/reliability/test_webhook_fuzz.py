"""Hostile input at the webhook routes: 10,000 generated requests, never a 5xx, never an unsigned event.

Each request starts from a payload exactly as Twilio sends it (``app.simulate``) and is mutated: keys
added, removed, renamed and repeated, values changed to any unicode, NUL, or huge; encoded as a form,
as raw UTF-8, as JSON (signed through ``bodySHA256``), as a GET query, streamed in chunks, or damaged
byte by byte (bad percent-escapes, invalid UTF-8, truncation); sent with a matching, wrong, missing
or odd content type, at sizes around ``SWITCHBOARD_MAX_BODY_BYTES``; and signed for what is sent, for
the original payload, with the secondary token, for another URL, with garbage, or not at all.

The expected answer of each request comes from an oracle that shares no code with the app: the
``twilio`` package's own ``RequestValidator`` for signatures, and the contract's rules (413 over the
limit, 415 for a type that is neither form nor JSON, 400 for an undecodable body, 403 for a bad
signature or another account, else 200) for the rest; every answer must be exactly the expected one.
Each generated example is one mutated payload sent five ways at once, so the group-commit writer also
sees garbage next to good rows. Afterwards every stored event must verify, again with
``RequestValidator``, against the request that carried it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app import simulate
from app.models import events
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, SECONDARY_TOKEN, AppHarness
from tests.reliability.conftest import Figures
from tests.twilio_requests import MultiParams, sign

BASE_URL = "https://hooks.example.com"
LIMIT = 4096  # SWITCHBOARD_MAX_BODY_BYTES for this test: small, so "around the limit" stays quick
OTHER_ACCOUNT = "AC" + "b2" * 16
BATCH = 5  # requests sent together per generated example
# Generated examples x BATCH: 10,000 requests on SQLite; a lighter 2,000 on PostgreSQL, whose text and
# jsonb types refuse more than SQLite does (NUL, unpaired surrogates) and so deserve a run of their own.
EXAMPLES = {"sqlite": 2000, "postgresql": 400}
FORM = "application/x-www-form-urlencoded"
ROUTES = {
    "/webhooks/twilio/messages": simulate.message,
    "/webhooks/twilio/calls": simulate.call,
    "/webhooks/twilio/messages/status": simulate.message_status,
    "/webhooks/twilio/calls/status": simulate.call_status,
}
Pairs = list[tuple[str, str]]

# --- what the app is expected to answer, from the contract and the twilio package only -----------


class Undecodable(Exception):
    pass


@dataclass(frozen=True)
class Expectation:
    status: int
    raw: Any = None  # what the app must store as ``raw`` when it answers 200
    signed_url: str = ""
    signed_params: Any = None  # what RequestValidator.validate is given, with ``signature``
    signature: str | None = None


def _form_params(text: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True, errors="strict"):
        if key not in params:
            params[key] = value
        elif isinstance(params[key], list):
            params[key].append(value)
        else:
            params[key] = [params[key], value]
    return params


def _storable(value: Any) -> bool:
    """PostgreSQL text holds no NUL, and UTF-8 has no lone surrogates: such a body is undecodable."""
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    return True


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def expect(
    method: str, path: str, query: str, body: bytes, content_type: str | None, signature: str | None
) -> Expectation:
    """The contract's answer, checked in this order: size, media type, decoding, signature, account."""
    if len(body) > LIMIT:
        return Expectation(413)
    kind = _media_type(content_type)
    is_json = kind == "application/json" or kind.endswith("+json")
    if not (kind == FORM or is_json or (not kind and not body)):
        return Expectation(415)
    url = BASE_URL + path + (f"?{query}" if query else "")
    try:
        text = body.decode("utf-8")
        if is_json:
            raw = json.loads(text)
            if not isinstance(raw, dict):
                raise Undecodable
            signed: Any = text  # RequestValidator checks bodySHA256 against a JSON body given as text
        else:
            raw = _form_params(text if body or method != "GET" else query)
            signed = (
                {}
                if method == "GET"
                else MultiParams({k: v if isinstance(v, list) else [v] for k, v in raw.items()})
            )
    except (ValueError, Undecodable):
        return Expectation(400)
    if not _storable(raw):
        return Expectation(400)
    if is_json and not parse_qs(query).get("bodySHA256"):
        return Expectation(403)  # Twilio signs a JSON body only through the bodySHA256 in its URL
    valid = signature is not None and any(
        RequestValidator(token).validate(url, signed, signature) for token in (AUTH_TOKEN, SECONDARY_TOKEN)
    )
    if not valid:
        return Expectation(403)
    if raw.get("AccountSid") != ACCOUNT_SID:
        return Expectation(403)
    return Expectation(200, raw, url, signed, signature)


# --- generating requests --------------------------------------------------------------------------
# Every strategy is built once, here: Hypothesis validates a strategy when it is first drawn from,
# and building them inside the composites below would pay for that on every draw.

SPECIAL = ["", " ", "+", "&", "=", "%", "%20", "%zz", "#", "?", "'", '"', "\x00", "\r\n", "\u2028", "é", "😀",
           "<Response/>", "whatsapp:+14155552671", "\ufeff", "Ω" * 3]  # fmt: skip
REAL_KEYS = ["AccountSid", "MessageSid", "CallSid", "Body", "From", "To", "MessageStatus", "CallStatus",
             "SequenceNumber", "NumMedia", "MediaUrl0", "bodySHA256", "ApiVersion"]  # fmt: skip
OPS = ["add", "remove", "change", "rename", "repeat", "huge", "nul", "account", "shuffle"]
ENCODINGS = ["form", "form", "form", "raw-utf8", "json", "json", "json-typed", "get", "damaged-form", "damaged-json",
             "binary", "empty"]  # fmt: skip
CONTENT_TYPES = ["matching", "matching", "matching", "matching; charset=utf-8", None, "", "text/plain", FORM,
                 "application/json", "APPLICATION/X-WWW-FORM-URLENCODED", "application/vnd.twilio+json",
                 "multipart/form-data; boundary=x", "application/x-www-form-urlencoded;;;",
                 "text/xml; charset=latin-1"]  # fmt: skip
SIGNINGS = ["sent", "sent", "sent", "secondary", "original", "other-url", "other-token", "garbage", "missing"]
STATUSES = [None, "queued", "delivered", "undelivered", "failed", "completed", "busy"]
DAMAGE = [b"%", b"%z", b"%zz", b"%e9", b"%ed%a0%80", b"%c3", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"%00",
          b"&", b"=", b"&&==", b"+", b"\\u0000", b'"', b"{", b"\\ud800"]  # fmt: skip

values = st.one_of(st.text(max_size=30), st.sampled_from(SPECIAL))
keys = st.one_of(st.sampled_from(REAL_KEYS), st.text(max_size=12), st.sampled_from(SPECIAL))
signature_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40
)
position = st.integers(0, 2**16)  # taken modulo the length it indexes
routes = st.sampled_from(sorted(ROUTES))
sid_numbers = st.integers(0, 2**40)
sid_prefixes = st.sampled_from(["SM", "MM", "CA"])
statuses = st.sampled_from(STATUSES)
media = st.lists(st.sampled_from(["https://api.twilio.com/m/1", "https://x.test/é"]), max_size=2)
small = st.integers(0, 9)
ops = st.lists(st.sampled_from(OPS), max_size=4)
huge_text = st.tuples(st.sampled_from(["x", "é", "😀", "%"]), st.integers(0, 2 * LIMIT))
json_values = st.one_of(st.integers(), st.none(), st.booleans(), st.just("list"), st.just("object"))
documents = st.sampled_from(["object", "list", "text", "number", "null"])
encodings = st.sampled_from(ENCODINGS)
content_types = st.sampled_from(CONTENT_TYPES)
signings = st.sampled_from(SIGNINGS)
damage = st.sampled_from(DAMAGE)
booleans = st.booleans()
other_bases = st.sampled_from(["http://hooks.example.com", "https://evil.example.com"])
bad_hashes = st.sampled_from(["", "bodySHA256=", "bodySHA256=" + "0" * 64])


@st.composite
def twilio_payload(draw: st.DrawFn) -> tuple[str, Pairs]:
    path = draw(routes)
    options = simulate.Options(
        account_sid=ACCOUNT_SID,
        sid=draw(sid_prefixes) + f"{draw(sid_numbers):032x}",
        body=draw(values),
        status=draw(statuses),
        media=draw(media),
        sequence=draw(small),
    )
    return path, list(ROUTES[path](options).items())


@st.composite
def mutated(draw: st.DrawFn, pairs: Pairs) -> Pairs:
    pairs = list(pairs)
    for op in draw(ops):
        at = draw(position) % max(len(pairs), 1)
        if op == "add" or not pairs:
            pairs.insert(at, (draw(keys), draw(values)))
        elif op == "remove":
            pairs.pop(at)
        elif op == "change":
            pairs[at] = (pairs[at][0], draw(values))
        elif op == "rename":
            pairs[at] = (draw(keys), pairs[at][1])
        elif op == "repeat":
            pairs.insert(draw(position) % (len(pairs) + 1), (pairs[at][0], draw(values)))
        elif op == "huge":
            char, count = draw(huge_text)
            pairs[at] = (pairs[at][0], char * count)
        elif op == "nul":
            pairs[at] = (pairs[at][0], pairs[at][1] + "\x00")
        elif op == "account":
            pairs = [(k, OTHER_ACCOUNT if k == "AccountSid" else v) for k, v in pairs]
        else:
            pairs = pairs[at:] + pairs[:at]
    return pairs


def _raw_utf8_form(pairs: Pairs) -> bytes:
    """A form body with its non-ASCII left as raw UTF-8 (only the separators escaped)."""

    def esc(text: str) -> str:
        return text.replace("%", "%25").replace("&", "%26").replace("=", "%3D").replace("+", "%2B")

    return "&".join(f"{esc(k)}={esc(v)}" for k, v in pairs).encode()


def _json_document(draw: st.DrawFn, pairs: Pairs) -> Any:
    """Values that are not strings, and documents that are not objects."""
    document: dict[str, Any] = {}
    for key, value in pairs:
        typed = draw(json_values)
        document[key] = [value] if typed == "list" else {"v": value} if typed == "object" else typed
    shape = draw(documents)
    return {"object": document, "list": [document], "text": "text", "number": 42, "null": None}[shape]


class Request:
    """One generated request and its expected answer (a plain class: Hypothesis prints its short repr)."""

    def __init__(
        self, method: str, path: str, query: str, body: bytes, headers: dict[str, str], chunked: bool, label: str,
        expected: Expectation,
    ):  # fmt: skip
        self.method, self.path, self.query, self.body = method, path, query, body
        self.headers, self.chunked, self.label, self.expected = headers, chunked, label, expected

    def __repr__(self) -> str:  # short: Hypothesis prints it when a case fails
        return f"<{self.label} query={self.query[:200]!r} body={self.body[:300]!r} expected={self.expected.status}>"


@st.composite
def webhook_batches(draw: st.DrawFn) -> list[Request]:
    """One Twilio payload, mutated, then sent ``BATCH`` ways at once (encodings, types, signatures)."""
    path, original = draw(twilio_payload())
    pairs = draw(mutated(original))
    return [_encoded(draw, path, original, pairs) for _ in range(BATCH)]


def _encoded(draw: st.DrawFn, path: str, original: Pairs, pairs: Pairs) -> Request:
    encoding = draw(encodings)
    method, query = "POST", ""
    if encoding in ("form", "damaged-form"):
        body = urlencode(pairs).encode()
    elif encoding == "raw-utf8":
        body = _raw_utf8_form(pairs)
    elif encoding in ("json", "damaged-json"):
        body = json.dumps(dict(pairs), ensure_ascii=draw(booleans)).encode()
    elif encoding == "json-typed":
        body = json.dumps(_json_document(draw, pairs)).encode()
    elif encoding == "get" and len(urlencode(pairs)) <= LIMIT:  # a URL has its own, smaller limits
        method, query, body = "GET", urlencode(pairs), b""
    elif encoding == "get":
        encoding, body = "form", urlencode(pairs).encode()
    elif encoding == "binary":
        body = draw(st.binary(max_size=300))
    else:
        body = b""
    if encoding.startswith("damaged") and body:
        at = draw(position) % (len(body) + 1)
        body = body[:at] + draw(damage) + body[at:] if draw(booleans) else body[:at]
    if method == "POST" and draw(small) == 0:  # pad to within a few bytes of the limit
        body += b"&Pad=" + b"x" * max(0, LIMIT - len(body) - 5 + draw(small) % 5 - 2)
    is_json = encoding in ("json", "json-typed", "damaged-json")
    if is_json:
        query = "bodySHA256=" + hashlib.sha256(body).hexdigest() if draw(small) else draw(bad_hashes)
    matching = "application/json" if is_json else "" if method == "GET" else FORM
    content_type = draw(content_types)
    if content_type is not None and content_type.startswith("matching"):
        content_type = content_type.replace("matching", matching) if matching else None
    url = BASE_URL + path + (f"?{query}" if query else "")
    signing = draw(signings)
    try:
        parsed = {} if is_json or method == "GET" else _form_params(body.decode("utf-8"))
    except ValueError:
        parsed = dict(pairs)
    signature: str | None = None
    if signing == "sent":
        signature = sign(url, parsed)
    elif signing == "secondary":
        signature = sign(url, parsed, SECONDARY_TOKEN)
    elif signing == "original":
        signature = sign(BASE_URL + path, dict(original))
    elif signing == "other-url":
        signature = sign(draw(other_bases) + path, parsed)
    elif signing == "other-token":
        signature = sign(url, parsed, "f" * 32)
    elif signing == "garbage":
        signature = draw(signature_text)
    headers = {"Host": "hooks.example.com"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    label = f"{method} {path} encoding={encoding} content_type={content_type!r} signing={signing} bytes={len(body)}"
    chunked = method == "POST" and draw(small) == 0
    expected = expect(method, path, query, body, content_type, signature)
    return Request(method, path, query, body, headers, chunked, label, expected)


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 1000):
        yield body[start : start + 1000]


async def _send(harness: AppHarness, request: Request) -> tuple[int, str]:
    target = request.path + (f"?{request.query}" if request.query else "")
    content: Any = _chunks(request.body) if request.chunked else request.body
    # Header values as octets, the way they travel: garbage signatures hold any latin-1 character.
    headers = {name.encode(): value.encode("latin-1") for name, value in request.headers.items()}
    response = await harness.client.request(request.method, target, content=content, headers=headers)
    return response.status_code, response.text


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_mutated_webhooks_get_no_5xx_and_store_only_validly_signed_events(
    database_url: str, harness_factory: Any, seed: int, figures: Figures, caplog: pytest.LogCaptureFixture
) -> None:
    examples = EXAMPLES[database_url.split(":", 1)[0]]
    # Thousands of rejections are each logged at WARNING: capturing only errors keeps the run quick.
    caplog.set_level(logging.ERROR)
    harness: AppHarness = await harness_factory(
        twilio_auth_token_secondary=SECONDARY_TOKEN, max_body_bytes=LIMIT
    )
    loop = asyncio.get_running_loop()
    sent: list[Request] = []
    answers: dict[int, int] = {}
    lock = threading.Lock()

    async def send_batch(batch: list[Request]) -> list[tuple[int, str]]:
        return await asyncio.gather(*(_send(harness, request) for request in batch))

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(webhook_batches())
    def one_batch(batch: list[Request]) -> None:
        results = asyncio.run_coroutine_threadsafe(send_batch(batch), loop).result(timeout=60)
        with lock:
            sent.extend(batch)
            for status, _ in results:
                answers[status] = answers.get(status, 0) + 1
        for request, (status, text) in zip(batch, results, strict=True):
            assert status < 500, f"{status} for {request.label}: {text[:300]}"
            assert status == request.expected.status, (
                f"{status}, expected {request.expected.status}, for {request.label}: {text[:300]}"
            )

    await asyncio.to_thread(one_batch)

    # Every stored event verifies, with the twilio package, against a request that carried it.
    accepted = {_canonical(r.expected.raw): r.expected for r in sent if r.expected.status == 200}
    async with harness.runtime.engine.connect() as conn:
        stored = (await conn.execute(select(events.c.raw, events.c.signature_valid))).all()
    for raw, signature_valid in stored:
        carried_by = accepted.get(_canonical(raw))
        assert carried_by is not None, f"stored, but no validly signed request carried it: {raw!r:.300}"
        assert signature_valid
        assert any(
            RequestValidator(token).validate(
                carried_by.signed_url, carried_by.signed_params, carried_by.signature
            )
            for token in (AUTH_TOKEN, SECONDARY_TOKEN)
        )
    # The hostile input really was hostile, and all of it was sent.
    assert len(sent) >= examples * BATCH
    assert {400, 403, 413, 415} <= set(answers) and answers.get(200, 0) > 100, answers

    figures["requests"] = len(sent)
    figures["answers"] = dict(sorted(answers.items()))
    figures["events_stored"] = len(stored)


def _canonical(raw: Any) -> str:
    return json.dumps(raw, sort_keys=True, ensure_ascii=False)


async def test_a_get_webhook_signed_as_twilio_signs_it_is_accepted(harness: AppHarness) -> None:
    """Twilio signs a GET as its URL alone: the query's parameters are not appended a second time."""
    params = simulate.message(simulate.Options(account_sid=ACCOUNT_SID))
    query = urlencode(params, quote_via=quote)
    url = f"{BASE_URL}/webhooks/twilio/messages?{query}"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, {})
    response = await harness.client.get(
        f"/webhooks/twilio/messages?{query}", headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200, response.text
    appended = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    response = await harness.client.get(
        f"/webhooks/twilio/messages?{query}", headers={"X-Twilio-Signature": appended}
    )
    assert response.status_code == 403, "a signature Twilio never makes for a GET was accepted"
