"""The four actions through the API: what reaches Twilio, what comes back, and what never leaves."""

from __future__ import annotations

from typing import Any

import pytest

from tests.action.conftest import PUBLIC_URL, VALID, ApiFactory
from tests.conftest import AppHarness
from tests.fake_twilio import FakeTwilio

SMS = {"to": VALID, "from": VALID, "body": "Hello"}
CALL = {"to": VALID, "from": VALID, "url": "https://example.com/twiml"}


async def test_send_sms_creates_a_message_and_maps_it(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    response = await api.client.post("/api/v1/actions/send_sms", json=SMS)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["data"]["body"] == "Hello"
    assert body["data"]["to"] == VALID
    assert body["data"]["sid"].startswith("SM")
    assert body["raw"]["sid"] == body["data"]["sid"]
    assert fake_twilio.get("messages", body["data"]["sid"]) is not None
    [sent] = fake_twilio.requests
    assert (sent.method, sent.path) == ("POST", fake_twilio.path("Messages.json"))
    assert sent.form == [("To", VALID), ("From", VALID), ("Body", "Hello")]
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["user-agent"].startswith("Switchboard/")


async def test_two_media_urls_become_two_media_url_fields(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    media = ["https://example.com/a.jpg", "https://example.com/b.jpg"]
    response = await api.client.post(
        "/api/v1/actions/send_sms", json={"to": VALID, "from": VALID, "media_urls": media}
    )
    assert response.status_code == 201, response.text
    assert fake_twilio.requests[0].form_values("MediaUrl") == media
    assert response.json()["data"]["num_media"] == "2"


async def test_a_messaging_service_can_replace_from(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    service = "MG" + "1" * 32
    response = await api.client.post(
        "/api/v1/actions/send_sms", json={"to": VALID, "messaging_service_sid": service, "body": "Hi"}
    )
    assert response.status_code == 201, response.text
    assert fake_twilio.requests[0].form_values("MessagingServiceSid") == [service]
    assert fake_twilio.requests[0].form_values("From") == []


@pytest.mark.parametrize(
    ("to", "sender", "expected_to", "expected_from"),
    [
        (VALID, VALID, f"whatsapp:{VALID}", f"whatsapp:{VALID}"),
        (f"whatsapp:{VALID}", f"whatsapp:{VALID}", f"whatsapp:{VALID}", f"whatsapp:{VALID}"),
        (f"WhatsApp:{VALID}", VALID, f"whatsapp:{VALID}", f"whatsapp:{VALID}"),
    ],
    ids=["prefix-added", "never-twice", "case-normalised"],
)
async def test_send_whatsapp_prefixes_addresses_once(
    api: AppHarness, fake_twilio: FakeTwilio, to: str, sender: str, expected_to: str, expected_from: str
) -> None:
    response = await api.client.post(
        "/api/v1/actions/send_whatsapp", json={"to": to, "from": sender, "body": "Hi"}
    )
    assert response.status_code == 201, response.text
    [sent] = fake_twilio.requests
    assert sent.form_values("To") == [expected_to]
    assert sent.form_values("From") == [expected_from]
    assert response.json()["data"]["to"] == expected_to


async def test_call_phone_with_twiml(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    twiml = "<Response><Say>Hello</Say></Response>"
    response = await api.client.post(
        "/api/v1/actions/call_phone", json={"to": VALID, "from": VALID, "twiml": twiml}
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["sid"].startswith("CA")
    [sent] = fake_twilio.requests
    assert sent.path == fake_twilio.path("Calls.json")
    assert sent.form == [("To", VALID), ("From", VALID), ("Twiml", twiml)]


async def test_call_phone_with_url(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    response = await api.client.post("/api/v1/actions/call_phone", json=CALL)
    assert response.status_code == 201, response.text
    assert fake_twilio.requests[0].form_values("Url") == [CALL["url"]]
    assert response.json()["data"]["status"] == "queued"


@pytest.mark.parametrize(
    ("action", "body", "message"),
    [
        ("send_sms", {"from": VALID, "body": "x"}, "to: Field required"),
        ("send_sms", {"to": "", "from": VALID, "body": "x"}, "to: String should have at least 1 character"),
        ("send_sms", {"to": VALID, "from": VALID}, "give one of 'body', 'media_urls', 'content_sid'"),
        ("send_sms", {"to": VALID, "from": VALID, "media_urls": []}, "give one of 'body', 'media_urls'"),
        ("send_sms", {"to": VALID, "body": "x"}, "give one of 'from', 'messaging_service_sid'"),
        ("send_sms", {**SMS, "bdy": "typo"}, "bdy: Extra inputs are not permitted"),
        ("send_whatsapp", {"to": VALID, "from": VALID}, "give one of 'body', 'media_urls'"),
        ("call_phone", {"to": VALID, "from": VALID}, "give one of 'url', 'twiml', 'application_sid'"),
        ("call_phone", {"to": VALID, "url": "https://example.com/t"}, "from: Field required"),
        ("call_phone", {**CALL, "twiml": "<Response/>"}, "give url or twiml, not both"),
        ("api_request", {"method": "GET", "path": "/../Accounts.json"}, "'.' and '..' segments are not allowed"),
        ("api_request", {"method": "GET", "path": "https://evil.example.com/x.json"}, "relative to the account"),
        ("api_request", {"method": "GET", "path": "//evil.example.com/x.json"}, "relative to the account"),
        ("api_request", {"method": "GET", "path": "/%2e%2e/Accounts.json"}, "characters Twilio paths do not use"),
        ("api_request", {"method": "GET", "path": "/Messages.json?PageSize=1"}, "put parameters in `params`"),
        ("api_request", {"method": "GET", "path": "/Messages"}, "must end in .json"),
        ("api_request", {"method": "PATCH", "path": "/Messages.json"}, "method: Input should be 'GET', 'POST' or 'DELETE'"),
    ],
    ids=["missing-to", "blank-to", "no-body-nor-media", "empty-media", "no-sender", "typo",
         "whatsapp-no-content", "call-no-instructions", "call-no-from", "call-url-and-twiml",
         "dot-dot", "absolute-url", "protocol-relative", "encoded-dot-dot", "query-in-path", "no-json-suffix",
         "unsupported-method"],
)  # fmt: skip
async def test_a_request_that_cannot_be_valid_is_422_before_any_call(
    api: AppHarness, fake_twilio: FakeTwilio, action: str, body: dict[str, Any], message: str
) -> None:
    response = await api.client.post(f"/api/v1/actions/{action}", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert message in error["message"]
    assert fake_twilio.requests == []


@pytest.mark.parametrize(
    ("body", "status", "twilio_code"),
    [
        ({**SMS, "to": "+15005550009"}, 400, 21614),
        ({**SMS, "to": "+15005550001"}, 400, 21211),
        ({**SMS, "from": "+15005550001"}, 400, 21212),
        ({**SMS, "from": "+15005550008"}, 429, 21611),
    ],
    ids=["to-not-mobile", "to-invalid", "from-invalid", "from-queue-full-429"],
)
async def test_magic_numbers_surface_as_twilio_errors(
    api: AppHarness, fake_twilio: FakeTwilio, body: dict[str, str], status: int, twilio_code: int
) -> None:
    response = await api.client.post("/api/v1/actions/send_sms", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == "twilio_error"
    assert error["twilio_code"] == twilio_code
    assert error["more_info"] == f"https://www.twilio.com/docs/errors/{twilio_code}"
    assert error["message"]
    # A full queue (21611) is the account's state, not a rate limit: it is not retried.
    assert len(fake_twilio.requests) == 1


async def test_a_call_to_a_magic_number_surfaces_its_code(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    response = await api.client.post("/api/v1/actions/call_phone", json={**CALL, "to": "+15005550002"})
    assert response.status_code == 400
    assert response.json()["error"]["twilio_code"] == 21214


async def test_status_callbacks_default_to_our_own_webhooks(
    api_factory: ApiFactory, fake_twilio: FakeTwilio
) -> None:
    api = await api_factory(public_url=PUBLIC_URL)
    assert (await api.client.post("/api/v1/actions/send_sms", json=SMS)).status_code == 201
    assert (await api.client.post("/api/v1/actions/send_whatsapp", json=SMS)).status_code == 201
    assert (await api.client.post("/api/v1/actions/call_phone", json=CALL)).status_code == 201
    sms, whatsapp, call = fake_twilio.requests
    assert sms.form_values("StatusCallback") == [f"{PUBLIC_URL}/webhooks/twilio/messages/status"]
    assert whatsapp.form_values("StatusCallback") == [f"{PUBLIC_URL}/webhooks/twilio/messages/status"]
    assert call.form_values("StatusCallback") == [f"{PUBLIC_URL}/webhooks/twilio/calls/status"]
    assert call.form_values("StatusCallbackEvent") == ["initiated", "ringing", "answered", "completed"]


async def test_the_callers_status_callback_wins(api_factory: ApiFactory, fake_twilio: FakeTwilio) -> None:
    api = await api_factory(public_url=PUBLIC_URL)
    mine = "https://automations.example.com/status"
    await api.client.post("/api/v1/actions/send_sms", json={**SMS, "status_callback": mine})
    await api.client.post("/api/v1/actions/call_phone", json={**CALL, "status_callback": mine})
    sms, call = fake_twilio.requests
    assert sms.form_values("StatusCallback") == [mine]
    assert call.form_values("StatusCallback") == [mine]
    assert call.form_values("StatusCallbackEvent") == []


async def test_without_a_public_url_no_status_callback_is_sent(
    api: AppHarness, fake_twilio: FakeTwilio
) -> None:
    await api.client.post("/api/v1/actions/send_sms", json=SMS)
    await api.client.post("/api/v1/actions/call_phone", json=CALL)
    assert all(request.form_values("StatusCallback") == [] for request in fake_twilio.requests)


async def test_api_request_get_sends_params_in_the_query(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    fake_twilio.add("messages", {"to": VALID, "from": VALID, "body": "seeded"})
    response = await api.client.post(
        "/api/v1/actions/api_request",
        json={"method": "get", "path": "/Messages.json", "params": {"PageSize": 5}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == 200
    assert [m["body"] for m in body["raw"]["messages"]] == ["seeded"]
    [sent] = fake_twilio.requests
    assert (sent.method, sent.path, sent.query, sent.body) == (
        "GET",
        fake_twilio.path("Messages.json"),
        [("PageSize", "5")],
        b"",
    )


async def test_api_request_post_sends_a_form_with_repeated_keys(
    api: AppHarness, fake_twilio: FakeTwilio
) -> None:
    media = ["https://example.com/a.jpg", "https://example.com/b.jpg"]
    response = await api.client.post(
        "/api/v1/actions/api_request",
        json={"method": "POST", "path": "/Messages.json",
              "params": {"To": VALID, "From": VALID, "MediaUrl": media, "SmartEncoded": True, "Body": None}},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["status"] == 201
    assert fake_twilio.requests[0].form == [
        ("To", VALID), ("From", VALID), ("MediaUrl", media[0]), ("MediaUrl", media[1]), ("SmartEncoded", "true")
    ]  # fmt: skip


async def test_api_request_delete_answers_twilios_204(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    queue = fake_twilio.add("queues", {"friendly_name": "Old"})
    response = await api.client.post(
        "/api/v1/actions/api_request", json={"method": "DELETE", "path": f"/Queues/{queue['sid']}.json"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"status": 204, "raw": None}
    assert fake_twilio.get("queues", queue["sid"]) is None


async def test_api_request_twilio_errors_pass_through(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    response = await api.client.post(
        "/api/v1/actions/api_request", json={"method": "GET", "path": f"/Queues/QU{'a' * 32}.json"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "twilio_error"


async def test_actions_need_the_bearer_token(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    response = await api.client.post("/api/v1/actions/send_sms", json=SMS, headers={"Authorization": ""})
    assert response.status_code == 401
    assert fake_twilio.requests == []


async def test_without_twilio_credentials_actions_are_503(
    api_factory: ApiFactory, fake_twilio: FakeTwilio
) -> None:
    api = await api_factory(twilio_account_sid=None)
    response = await api.client.post("/api/v1/actions/send_sms", json=SMS)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "twilio_not_configured"
    assert "TWILIO_ACCOUNT_SID" in response.json()["error"]["message"]
