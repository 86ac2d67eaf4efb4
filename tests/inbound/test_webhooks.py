"""Twilio → us, end to end in-process: verified, mapped, stored once, answered with empty TwiML."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app import simulate
from app.main import create_app
from app.models import events
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, SECONDARY_TOKEN, AppHarness, make_settings
from tests.twilio_requests import post_signed, sign

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MESSAGES = "/webhooks/twilio/messages"
CALLS = "/webhooks/twilio/calls"
MESSAGE_STATUS = "/webhooks/twilio/messages/status"
CALL_STATUS = "/webhooks/twilio/calls/status"


async def stored(harness: AppHarness, event_type: str | None = None) -> list[dict[str, Any]]:
    query = select(events).order_by(events.c.id)
    if event_type:
        query = query.where(events.c.type == event_type)
    async with harness.runtime.engine.connect() as conn:
        return [dict(row._mapping) for row in (await conn.execute(query)).all()]


async def count(harness: AppHarness) -> int:
    async with harness.runtime.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(events))).scalar_one())


def options(**overrides: Any) -> simulate.Options:
    return simulate.Options(account_sid=ACCOUNT_SID, **overrides)


def assert_twiml(response: Any) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.text == TWIML


async def test_sms_is_verified_mapped_and_stored(harness: AppHarness) -> None:
    params = simulate.message(options(body="Hello"))
    assert_twiml(await post_signed(harness.client, MESSAGES, params))
    [event] = await stored(harness)
    assert event["type"] == "messages/message_received"
    assert event["connector"] == "twilio"
    assert event["account_sid"] == ACCOUNT_SID
    assert event["signature_valid"] is True
    assert event["raw"] == params
    assert event["data"]["sid"] == params["MessageSid"]
    assert event["data"]["body"] == "Hello"
    assert event["data"]["from"] == params["From"]
    assert event["data"]["to"] == params["To"]
    assert event["data"]["num_media"] == 0


async def test_mms_keeps_every_media_parameter(harness: AppHarness) -> None:
    media = [
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        "https://x.example/2.png",
    ]
    params = simulate.message(options(media=media, body=""))
    assert_twiml(await post_signed(harness.client, MESSAGES, params))
    [event] = await stored(harness)
    assert event["data"]["num_media"] == 2
    assert event["raw"]["MediaUrl0"] == media[0]
    assert event["raw"]["MediaUrl1"] == media[1]
    assert event["raw"]["MediaContentType1"] == "image/jpeg"
    assert event["data"]["sid"].startswith("MM")


async def test_whatsapp_message_keeps_prefixes_profile_and_wa_id(harness: AppHarness) -> None:
    params = simulate.message(options(whatsapp=True, sender="+14017122661"))
    assert_twiml(await post_signed(harness.client, MESSAGES, params))
    [event] = await stored(harness)
    assert event["data"]["from"] == "whatsapp:+14017122661"
    assert event["data"]["to"].startswith("whatsapp:+")
    assert event["data"]["profile_name"] == "Ada"
    assert event["data"]["wa_id"] == "14017122661"


async def test_voice_call_is_stored_as_call_received(harness: AppHarness) -> None:
    params = simulate.call(options())
    assert_twiml(await post_signed(harness.client, CALLS, params))
    [event] = await stored(harness)
    assert event["type"] == "calls/call_received"
    assert event["data"]["sid"] == params["CallSid"]
    assert event["data"]["status"] == "ringing"
    assert event["raw"]["Caller"] == params["Caller"]


async def test_message_status_callbacks_are_one_event_per_status(harness: AppHarness) -> None:
    message_sid = simulate.sid("SM")
    for status in ("queued", "sent", "delivered", "delivered"):
        params = simulate.message_status(options(sid=message_sid, status=status))
        assert_twiml(await post_signed(harness.client, MESSAGE_STATUS, params))
    rows = await stored(harness, "messages/message_status")
    assert [r["data"]["status"] for r in rows] == ["queued", "sent", "delivered"]
    assert {r["data"]["sid"] for r in rows} == {message_sid}


async def test_call_status_callbacks_dedupe_on_sequence_number(harness: AppHarness) -> None:
    call_sid = simulate.sid("CA")
    for sequence, status in [
        (0, "initiated"),
        (1, "ringing"),
        (2, "in-progress"),
        (3, "completed"),
        (3, "completed"),
    ]:
        params = simulate.call_status(options(sid=call_sid, status=status, sequence=sequence))
        assert_twiml(await post_signed(harness.client, CALL_STATUS, params))
    rows = await stored(harness, "calls/call_status")
    assert [r["data"]["sequence_number"] for r in rows] == [0, 1, 2, 3]
    assert rows[-1]["data"]["duration"] == 42


@pytest.mark.parametrize(
    "body",
    [
        "héllo wörld",
        "日本語のテキスト",
        "emoji 😀👍🏽🇺🇸 and ZWJ 👩‍👩‍👧",
        "math 𝔸𝔹ℂ",
        "quotes ' \" & < > + % =",
        "  padded  ",
    ],
    ids=["latin", "cjk", "emoji", "astral", "specials", "whitespace"],
)
async def test_unicode_bodies_are_stored_byte_exact(harness: AppHarness, body: str) -> None:
    params = simulate.message(options(body=body))
    assert_twiml(await post_signed(harness.client, MESSAGES, params))
    [event] = await stored(harness)
    assert event["raw"]["Body"].encode() == body.encode()
    assert event["data"]["body"] == body


async def test_a_twilio_retry_of_the_same_message_stores_one_row(harness: AppHarness) -> None:
    params = simulate.message(options())
    for _ in range(3):
        assert_twiml(await post_signed(harness.client, MESSAGES, params))
    assert await count(harness) == 1


async def test_fifty_concurrent_identical_requests_store_one_row(harness: AppHarness) -> None:
    params = simulate.message(options())
    responses = await asyncio.gather(*(post_signed(harness.client, MESSAGES, params) for _ in range(50)))
    assert [r.status_code for r in responses] == [200] * 50
    assert all(r.text == TWIML for r in responses)
    assert await count(harness) == 1


async def test_concurrent_distinct_messages_are_all_stored(harness: AppHarness) -> None:
    batch = [simulate.message(options(body=f"n{i}")) for i in range(40)]
    responses = await asyncio.gather(*(post_signed(harness.client, MESSAGES, p) for p in batch))
    assert {r.status_code for r in responses} == {200}
    assert await count(harness) == 40


# --- signatures ---------------------------------------------------------------------------------


async def test_wrong_token_is_refused_and_nothing_stored(harness: AppHarness) -> None:
    response = await post_signed(harness.client, MESSAGES, simulate.message(options()), token="0" * 32)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    assert await count(harness) == 0


async def test_missing_signature_header_is_refused(harness: AppHarness) -> None:
    params = simulate.message(options())
    response = await harness.client.post(MESSAGES, data=params)
    assert response.status_code == 403
    assert "missing" in response.json()["error"]["message"]
    assert await count(harness) == 0


async def test_tampered_parameter_is_refused(harness: AppHarness) -> None:
    params = simulate.message(options(body="pay $10"))
    signature = sign(f"https://hooks.example.com{MESSAGES}", params)
    tampered = {**params, "Body": "pay $1000"}
    response = await harness.client.post(MESSAGES, data=tampered, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert await count(harness) == 0


async def test_extra_parameter_is_refused(harness: AppHarness) -> None:
    params = simulate.message(options())
    signature = sign(f"https://hooks.example.com{MESSAGES}", params)
    response = await harness.client.post(
        MESSAGES, data={**params, "Injected": "1"}, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("base_url", "signed_url"),
    [
        ("https://hooks.example.com", "https://hooks.example.com:443/webhooks/twilio/messages"),
        ("https://hooks.example.com:443", "https://hooks.example.com/webhooks/twilio/messages"),
        ("http://hooks.example.com", "http://hooks.example.com:80/webhooks/twilio/messages"),
        ("http://hooks.example.com:80", "http://hooks.example.com/webhooks/twilio/messages"),
        ("https://hooks.example.com:8443", "https://hooks.example.com/webhooks/twilio/messages"),
    ],
    ids=["https-signed-with-443", "https-443-signed-without", "http-signed-with-80", "http-80-signed-without",
         "voice-https-port-dropped"],
)  # fmt: skip
async def test_ports_added_or_removed_by_twilio(harness_factory: Any, base_url: str, signed_url: str) -> None:
    harness = await harness_factory(base_url=base_url)
    params = simulate.message(options())
    assert_twiml(await post_signed(harness.client, MESSAGES, params, signed_url=signed_url))


@pytest.mark.parametrize(
    "query",
    ["tenant=o%27brien", "tenant=o'brien", "to=%2B14155552671", "to=+14155552671", "user=ada%40example.com",
     "user=ada@example.com", "a=1&b=2&a=3", "sip=sip:ada@example.com;transport=tls"],
    ids=["apostrophe-escaped", "apostrophe-raw", "plus-escaped", "plus-raw", "at-escaped", "at-raw",
         "repeated", "sip-uri"],
)  # fmt: skip
async def test_query_strings_are_signed_as_received(harness: AppHarness, query: str) -> None:
    params = simulate.message(options())
    assert_twiml(await post_signed(harness.client, MESSAGES, params, query=query))


async def test_raw_apostrophe_matches_twilio_signing_it_escaped(harness: AppHarness) -> None:
    params = simulate.message(options())
    signed = f"https://hooks.example.com{MESSAGES}?tenant=o%27brien"
    assert_twiml(
        await post_signed(harness.client, MESSAGES, params, query="tenant=o'brien", signed_url=signed)
    )


async def test_public_url_is_what_twilio_signed(harness_factory: Any) -> None:
    harness = await harness_factory(base_url="http://10.1.2.3:8000", public_url="https://hooks.example.com")
    params = simulate.message(options())
    signed = f"https://hooks.example.com{MESSAGES}?x=1"
    assert_twiml(await post_signed(harness.client, MESSAGES, params, query="x=1", signed_url=signed))


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.com"}


async def test_forwarded_headers_from_a_trusted_proxy_are_believed(harness_factory: Any) -> None:
    harness = await harness_factory(
        base_url="http://10.0.0.5:8000", client_ip="10.0.0.1", trusted_proxies="10.0.0.0/8"
    )
    params = simulate.message(options())
    signed = f"https://hooks.example.com{MESSAGES}"
    response = await post_signed(harness.client, MESSAGES, params, signed_url=signed, headers=FORWARDED)
    assert_twiml(response)


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(harness_factory: Any) -> None:
    harness = await harness_factory(
        base_url="http://10.0.0.5:8000", client_ip="192.0.2.1", trusted_proxies="10.0.0.0/8"
    )
    params = simulate.message(options())
    signed = f"https://hooks.example.com{MESSAGES}"
    response = await post_signed(harness.client, MESSAGES, params, signed_url=signed, headers=FORWARDED)
    assert response.status_code == 403
    assert await count(harness) == 0


async def test_json_body_is_verified_through_body_sha256(harness: AppHarness) -> None:
    document = {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": simulate.sid("SM"),
        "Body": "json ✓",
        "From": "+1415",
    }
    body = json.dumps(document).encode()
    digest = hashlib.sha256(body).hexdigest()
    url = f"https://hooks.example.com{MESSAGES}?bodySHA256={digest}"
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": sign(url, {})}
    response = await harness.client.post(f"{MESSAGES}?bodySHA256={digest}", content=body, headers=headers)
    assert_twiml(response)
    [event] = await stored(harness)
    assert event["raw"] == document
    assert event["data"]["body"] == "json ✓"


async def test_json_body_that_does_not_match_its_hash_is_refused(harness: AppHarness) -> None:
    body = json.dumps({"AccountSid": ACCOUNT_SID, "MessageSid": "SM1"}).encode()
    digest = hashlib.sha256(b"something else").hexdigest()
    url = f"https://hooks.example.com{MESSAGES}?bodySHA256={digest}"
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": sign(url, {})}
    response = await harness.client.post(f"{MESSAGES}?bodySHA256={digest}", content=body, headers=headers)
    assert response.status_code == 403


async def test_secondary_token_is_accepted_during_rotation(harness_factory: Any) -> None:
    harness = await harness_factory(twilio_auth_token_secondary=SECONDARY_TOKEN)
    assert_twiml(
        await post_signed(harness.client, MESSAGES, simulate.message(options()), token=SECONDARY_TOKEN)
    )
    assert_twiml(await post_signed(harness.client, MESSAGES, simulate.message(options()), token=AUTH_TOKEN))


async def test_secondary_token_is_refused_when_not_configured(harness: AppHarness) -> None:
    response = await post_signed(harness.client, MESSAGES, simulate.message(options()), token=SECONDARY_TOKEN)
    assert response.status_code == 403


async def test_monitor_mode_stores_bad_signatures_flagged(harness_factory: Any) -> None:
    harness = await harness_factory(signature_mode="monitor")
    response = await post_signed(harness.client, MESSAGES, simulate.message(options()), token="0" * 32)
    assert_twiml(response)
    [event] = await stored(harness)
    assert event["signature_valid"] is False


async def test_repeated_form_keys_are_kept_as_lists_and_signed(harness: AppHarness) -> None:
    params: dict[str, Any] = {**simulate.message(options()), "Tag": ["b", "a", "b"]}
    assert_twiml(await post_signed(harness.client, MESSAGES, params))
    [event] = await stored(harness)
    assert event["raw"]["Tag"] == ["b", "a", "b"]


# --- refusals -------------------------------------------------------------------------------------


async def test_another_account_is_refused(harness: AppHarness) -> None:
    params = simulate.message(simulate.Options(account_sid="AC" + "f" * 32))
    response = await post_signed(harness.client, MESSAGES, params)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_account"
    assert await count(harness) == 0


async def test_body_over_the_limit_is_413(harness_factory: Any) -> None:
    harness = await harness_factory(max_body_bytes=1024)
    params = simulate.message(options(body="x" * 2000))
    response = await post_signed(harness.client, MESSAGES, params)
    assert response.status_code == 413
    assert await count(harness) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data; boundary=x", "application/xml"])
async def test_other_content_types_are_415(harness: AppHarness, content_type: str) -> None:
    response = await harness.client.post(
        MESSAGES, content=b"a=b", headers={"Content-Type": content_type, "X-Twilio-Signature": "x"}
    )
    assert response.status_code == 415
    assert await count(harness) == 0


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"Body=%FF%FE"),
        ("application/x-www-form-urlencoded", b"Body=\xff"),
        ("application/json", b"{not json"),
        ("application/json", b"[1, 2]"),
        ("application/json", b'{"Body": "nul \\u0000"}'),
        ("application/json", b'{"Body": "\\ud800"}'),
    ],
    ids=["bad-percent-utf8", "raw-invalid-utf8", "broken-json", "json-array", "json-nul", "lone-surrogate"],
)
async def test_undecodable_bodies_are_400(harness: AppHarness, content_type: str, body: bytes) -> None:
    response = await harness.client.post(
        MESSAGES, content=body, headers={"Content-Type": content_type, "X-Twilio-Signature": "x"}
    )
    assert response.status_code == 400
    assert await count(harness) == 0


async def test_put_is_405(harness: AppHarness) -> None:
    response = await harness.client.put(MESSAGES, content=b"")
    assert response.status_code == 405


@pytest.mark.parametrize(
    "unreachable",
    ["sqlite:////nonexistent-directory/switchboard.db", "postgresql://postgres@127.0.0.1:1/switchboard"],
    ids=["sqlite-unopenable", "postgresql-refused"],
)
async def test_database_down_answers_503_so_twilio_retries(unreachable: str, tmp_path: Any) -> None:
    app = create_app(make_settings(unreachable))
    async with app.app.router.lifespan_context(app.app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://hooks.example.com") as client:
            response = await post_signed(client, MESSAGES, simulate.message(options()))
            ready = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert ready.status_code == 503
