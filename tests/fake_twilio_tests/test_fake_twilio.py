"""The fake Twilio API behaves like Twilio's: spec validation, JSON shapes, paging, magic numbers, faults.

Driven over a real local port with httpx, as Switchboard's client will be.
"""

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.fake_twilio import VALID_TEST_NUMBER, FakeTwilio

TO = "+15558675310"
SMS = {"To": TO, "From": VALID_TEST_NUMBER, "Body": "Hello"}


@pytest.fixture(scope="module")
def client(fake_twilio_server: FakeTwilio) -> Iterator[httpx.Client]:
    # One client for the module: building an httpx.Client (its SSL context) costs ~40 ms.
    with httpx.Client(base_url=fake_twilio_server.base_url, auth=fake_twilio_server.auth) as http:
        yield http


def send_sms(client: httpx.Client, fake: FakeTwilio, data: Any) -> httpx.Response:
    return client.post(fake.path("Messages.json"), data=data)


# -- creating and validating ---------------------------------------------------------------------------------


def test_message_with_two_media_urls_is_created_and_recorded_as_repeated_keys(
    client: httpx.Client, fake_twilio: FakeTwilio
) -> None:
    media = ["https://example.com/a.jpg", "https://example.com/b.jpg"]
    response = send_sms(client, fake_twilio, {"To": TO, "From": VALID_TEST_NUMBER, "MediaUrl": media})

    assert response.status_code == 201
    message = response.json()
    assert message["sid"].startswith("MM")
    assert (message["status"], message["num_media"], message["to"]) == ("queued", "2", TO)
    assert message["uri"] == fake_twilio.path(f"Messages/{message['sid']}.json")
    assert fake_twilio.requests[-1].form_values("MediaUrl") == media
    assert fake_twilio.violations == []


def test_message_answer_has_exactly_the_spec_schema_properties(
    client: httpx.Client, fake_twilio: FakeTwilio
) -> None:
    schema = fake_twilio.spec.operations["CreateMessage"].item_schema

    message = send_sms(client, fake_twilio, SMS).json()

    assert set(message) == set(schema["properties"])
    assert message["date_created"].endswith("+0000")  # RFC 2822, like Twilio


def test_message_without_to_is_rejected_and_recorded_as_violation(
    client: httpx.Client, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.expect_violations()

    response = send_sms(client, fake_twilio, {"From": VALID_TEST_NUMBER, "Body": "Hello"})

    assert response.status_code == 400
    assert response.json() == {
        "code": 21604,
        "message": "A 'To' phone number is required.",
        "more_info": "https://www.twilio.com/docs/errors/21604",
        "status": 400,
    }
    [violation] = fake_twilio.violations
    assert (violation.operation_id, violation.status) == ("CreateMessage", 400)


def test_json_body_is_rejected_with_415_and_recorded(client: httpx.Client, fake_twilio: FakeTwilio) -> None:
    fake_twilio.expect_violations()

    response = client.post(fake_twilio.path("Messages.json"), json=SMS)

    assert response.status_code == 415
    assert response.json()["status"] == 415
    assert len(fake_twilio.violations) == 1


def test_unknown_parameter_is_a_violation(client: httpx.Client, fake_twilio: FakeTwilio) -> None:
    fake_twilio.expect_violations()

    response = send_sms(client, fake_twilio, {**SMS, "Bdoy": "typo"})

    assert response.status_code == 400
    assert response.json()["code"] == 20001
    assert "Unknown parameter Bdoy" in fake_twilio.violations[0].problems[0]


@pytest.mark.parametrize(
    ("path", "data", "code"),
    [
        ("Messages.json", {"To": TO, "Body": "Hello"}, 21603),
        ("Messages.json", {"To": TO, "From": VALID_TEST_NUMBER}, 21602),
        ("Calls.json", {"To": TO, "From": VALID_TEST_NUMBER}, 20001),
        ("IncomingPhoneNumbers.json", {"FriendlyName": "main line"}, 20001),
    ],
    ids=["sms-without-sender", "sms-without-content", "call-without-url-or-twiml", "number-without-number"],
)
def test_missing_conditional_group_is_a_violation(
    client: httpx.Client, fake_twilio: FakeTwilio, path: str, data: dict[str, str], code: int
) -> None:
    fake_twilio.expect_violations()

    response = client.post(fake_twilio.path(path), data=data)

    assert (response.status_code, response.json()["code"]) == (400, code)
    assert len(fake_twilio.violations) == 1


@pytest.mark.parametrize(
    ("method", "path", "params", "data"),
    [
        ("GET", "/2010-04-01/Accounts/ACnot-a-sid/Messages.json", None, None),
        ("GET", "Messages.json", {"PageSize": "1001"}, None),
        ("GET", "Messages.json", {"PageSize": "fifty"}, None),
        ("POST", "Messages.json", None, {**SMS, "To": [TO, "+15558675311"]}),
        ("POST", "Messages.json", None, {**SMS, "ValidityPeriod": "soon"}),
        ("POST", "Messages.json", None, {**SMS, "ScheduleType": "later"}),
        ("POST", "Messages.json", None, {**SMS, "MessagingServiceSid": "XX123"}),
        ("POST", "Messages.json", {"To": TO}, SMS),
        ("POST", f"Calls/CA{'0' * 32}.json", None, {"Status": "paused"}),
        ("POST", f"Conferences/CF{'0' * 32}/Participants/CA{'0' * 32}.json", None, {"Muted": "maybe"}),
    ],
    ids=[
        "bad-account-sid-pattern",
        "page-size-over-1000",
        "page-size-not-integer",
        "non-array-repeated",
        "integer-not-integer",
        "enum-unknown",
        "sid-pattern",
        "query-on-create",
        "update-enum",
        "boolean-not-boolean",
    ],
)
def test_spec_invalid_request_gets_400_and_is_recorded(
    client: httpx.Client, fake_twilio: FakeTwilio, method: str, path: str, params: Any, data: Any
) -> None:
    fake_twilio.expect_violations()
    url = path if path.startswith("/") else fake_twilio.path(path)

    response = client.request(method, url, params=params, data=data)

    assert response.status_code == 400
    assert set(response.json()) == {"code", "message", "more_info", "status"}
    assert len(fake_twilio.violations) == 1


def test_unknown_path_is_404_twilio_shaped_and_a_violation(
    client: httpx.Client, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.expect_violations()

    response = client.get(fake_twilio.path("Messages"))  # Twilio's JSON paths end in .json

    assert response.status_code == 404
    assert response.json()["code"] == 20404
    assert fake_twilio.violations[0].operation_id is None


def test_unsupported_method_is_405(client: httpx.Client, fake_twilio: FakeTwilio) -> None:
    fake_twilio.expect_violations()

    response = client.put(fake_twilio.path("Messages.json"), data=SMS)

    assert (response.status_code, response.json()["code"]) == (405, 20004)


# -- authentication ------------------------------------------------------------------------------------------


BAD_CREDENTIALS: dict[str, Callable[[FakeTwilio], tuple[str, str] | httpx.Auth]] = {
    "wrong-token": lambda fake: (fake.account_sid, "not-the-token"),
    "no-credentials": lambda fake: httpx.Auth(),  # the base Auth adds nothing, overriding the client's
    "other-account": lambda fake: ("AC" + "1" * 32, fake.auth_token),
}


@pytest.mark.parametrize("credentials", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
def test_bad_credentials_get_401_20003(
    client: httpx.Client,
    fake_twilio: FakeTwilio,
    credentials: Callable[[FakeTwilio], tuple[str, str] | httpx.Auth],
) -> None:
    response = client.post(fake_twilio.path("Messages.json"), data=SMS, auth=credentials(fake_twilio))

    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert fake_twilio.violations == []


def test_api_key_created_through_the_fake_authenticates(
    client: httpx.Client, fake_twilio: FakeTwilio
) -> None:
    key = client.post(fake_twilio.path("Keys.json"), data={"FriendlyName": "ci"}).json()

    response = client.get(fake_twilio.path("Messages.json"), auth=(key["sid"], key["secret"]))

    assert response.status_code == 200


# -- test-credential magic numbers ---------------------------------------------------------------------------

URL = "https://example.com/twiml"
MAGIC = [
    ("sms-valid-sender", "Messages.json", SMS, 201, None),
    ("sms-from-invalid", "Messages.json", {**SMS, "From": "+15005550001"}, 400, 21212),
    ("sms-from-not-owned", "Messages.json", {**SMS, "From": "+15005550007"}, 400, 21606),
    ("sms-from-queue-full", "Messages.json", {**SMS, "From": "+15005550008"}, 429, 21611),
    ("sms-to-invalid", "Messages.json", {**SMS, "To": "+15005550001"}, 400, 21211),
    ("sms-to-unroutable", "Messages.json", {**SMS, "To": "+15005550002"}, 400, 21612),
    ("sms-to-no-permission", "Messages.json", {**SMS, "To": "+15005550003"}, 400, 21408),
    ("sms-to-blocked", "Messages.json", {**SMS, "To": "+15005550004"}, 400, 21610),
    ("sms-to-not-mobile", "Messages.json", {**SMS, "To": "+15005550009"}, 400, 21614),
    ("whatsapp-to-not-mobile", "Messages.json", {**SMS, "To": "whatsapp:+15005550009"}, 400, 21614),
    (
        "whatsapp-valid",
        "Messages.json",
        {**SMS, "To": f"whatsapp:{TO}", "From": "whatsapp:+15005550006"},
        201,
        None,
    ),
    ("call-valid", "Calls.json", {"To": TO, "From": VALID_TEST_NUMBER, "Url": URL}, 201, None),
    (
        "call-to-invalid",
        "Calls.json",
        {"To": "+15005550001", "From": VALID_TEST_NUMBER, "Url": URL},
        400,
        21217,
    ),
    (
        "call-to-unreachable",
        "Calls.json",
        {"To": "+15005550002", "From": VALID_TEST_NUMBER, "Url": URL},
        400,
        21214,
    ),
    (
        "call-to-no-permission",
        "Calls.json",
        {"To": "+15005550003", "From": VALID_TEST_NUMBER, "Url": URL},
        400,
        21215,
    ),
    (
        "call-to-blocked",
        "Calls.json",
        {"To": "+15005550004", "From": VALID_TEST_NUMBER, "Url": URL},
        400,
        21216,
    ),
    (
        "call-from-invalid",
        "Calls.json",
        {"To": TO, "From": "+15005550001", "Twiml": "<Response/>"},
        400,
        21212,
    ),
    ("number-valid", "IncomingPhoneNumbers.json", {"PhoneNumber": VALID_TEST_NUMBER}, 201, None),
    ("number-unavailable", "IncomingPhoneNumbers.json", {"PhoneNumber": "+15005550000"}, 400, 21422),
    ("number-invalid", "IncomingPhoneNumbers.json", {"PhoneNumber": "+15005550001"}, 400, 21421),
    (
        "local-number-unavailable",
        "IncomingPhoneNumbers/Local.json",
        {"PhoneNumber": "+15005550000"},
        400,
        21422,
    ),
]


@pytest.mark.parametrize(
    ("path", "data", "status", "code"), [row[1:] for row in MAGIC], ids=[row[0] for row in MAGIC]
)
def test_magic_numbers_answer_like_test_credentials(
    client: httpx.Client,
    fake_twilio: FakeTwilio,
    path: str,
    data: dict[str, str],
    status: int,
    code: int | None,
) -> None:
    response = client.post(fake_twilio.path(path), data=data)

    assert response.status_code == status
    assert response.json().get("code") == code
    assert fake_twilio.violations == []  # a magic-number error is Twilio's answer to a valid request


def test_magic_number_message_names_the_number_behind_the_channel(
    client: httpx.Client, fake_twilio: FakeTwilio
) -> None:
    response = send_sms(client, fake_twilio, {**SMS, "To": "whatsapp:+15005550009"})

    assert response.json()["message"] == "To number: +15005550009, is not a mobile number"


# -- reading, updating, deleting -----------------------------------------------------------------------------


def test_delete_answers_204_then_read_answers_404(client: httpx.Client, fake_twilio: FakeTwilio) -> None:
    sid = send_sms(client, fake_twilio, SMS).json()["sid"]

    deleted = client.delete(fake_twilio.path(f"Messages/{sid}.json"))
    read = client.get(fake_twilio.path(f"Messages/{sid}.json"))

    assert (deleted.status_code, deleted.content) == (204, b"")
    assert (read.status_code, read.json()["code"]) == (404, 20404)


def test_update_changes_only_sent_properties(client: httpx.Client, fake_twilio: FakeTwilio) -> None:
    sid = send_sms(client, fake_twilio, SMS).json()["sid"]

    redacted = client.post(fake_twilio.path(f"Messages/{sid}.json"), data={"Body": ""})

    assert redacted.status_code == 200
    assert (redacted.json()["body"], redacted.json()["to"]) == ("", TO)


def test_validation_request_answers_200_with_a_validation_code(
    client: httpx.Client, fake_twilio: FakeTwilio
) -> None:
    response = client.post(
        fake_twilio.path("OutgoingCallerIds.json"), data={"PhoneNumber": TO, "FriendlyName": "me"}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["phone_number"], len(body["validation_code"]), body["call_sid"][:2]) == (TO, 6, "CA")
    assert client.get(fake_twilio.path("OutgoingCallerIds.json")).json()["outgoing_caller_ids"] == []


def test_seeded_participants_are_listed_under_their_conference(
    client: httpx.Client, fake_twilio: FakeTwilio
) -> None:
    conference = fake_twilio.add("conferences", {"friendly_name": "standup", "status": "in-progress"})
    fake_twilio.add("participants", {"muted": True}, conference_sid=conference["sid"])
    fake_twilio.add("participants", {}, conference_sid=conference["sid"])

    listed = client.get(
        fake_twilio.path(f"Conferences/{conference['sid']}/Participants.json"), params={"Muted": "true"}
    )

    [participant] = listed.json()["participants"]
    assert (participant["conference_sid"], participant["muted"]) == (conference["sid"], True)
    assert participant["call_sid"].startswith("CA")


def test_seeded_available_numbers_are_searchable_by_area_code(
    client: httpx.Client, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.add("available_phone_numbers", {"phone_number": "+14155550100"}, country_code="US")
    fake_twilio.add("available_phone_numbers", {"phone_number": "+12125550100"}, country_code="US")

    found = client.get(
        fake_twilio.path("AvailablePhoneNumbers/US/Local.json"), params={"AreaCode": "415"}
    ).json()

    assert [n["phone_number"] for n in found["available_phone_numbers"]] == ["+14155550100"]
    assert found["available_phone_numbers"][0]["iso_country"] == "US"


# -- lists ---------------------------------------------------------------------------------------------------


def test_paging_follows_next_page_uri_through_all_messages_in_order(
    client: httpx.Client, fake_twilio: FakeTwilio
) -> None:
    seeded = [fake_twilio.add("messages", {"to": TO, "body": str(i)})["sid"] for i in range(120)]

    pages = [client.get(fake_twilio.path("Messages.json"), params={"PageSize": "50"}).json()]
    while pages[-1]["next_page_uri"]:
        next_uri = pages[-1]["next_page_uri"]
        assert next_uri.startswith("/2010-04-01/") and "PageToken=" in next_uri and "PageSize=50" in next_uri
        pages.append(client.get(next_uri).json())

    assert [len(p["messages"]) for p in pages] == [50, 50, 20]
    assert [m["sid"] for p in pages for m in p["messages"]] == seeded
    assert [(p["page"], p["start"], p["end"]) for p in pages] == [(0, 0, 49), (1, 50, 99), (2, 100, 119)]
    assert pages[0]["previous_page_uri"] is None and pages[1]["previous_page_uri"] is not None
    assert {p["first_page_uri"] for p in pages} == {fake_twilio.path("Messages.json") + "?PageSize=50&Page=0"}


def test_list_defaults_to_page_size_50(client: httpx.Client, fake_twilio: FakeTwilio) -> None:
    for _ in range(51):
        fake_twilio.add("calls", {"to": TO})

    page = client.get(fake_twilio.path("Calls.json")).json()

    assert (page["page_size"], len(page["calls"])) == (50, 50)
    assert page["next_page_uri"] is not None


@pytest.mark.parametrize(
    ("handle", "path", "params", "expected"),
    [
        ("messages", "Messages.json", {"To": "+15550000001"}, 1),
        ("messages", "Messages.json", {"From": VALID_TEST_NUMBER}, 2),
        ("calls", "Calls.json", {"Status": "completed"}, 1),
        ("calls", "Calls.json", {"To": "+15550000002", "Status": "queued"}, 1),
        ("incoming_phone_numbers", "IncomingPhoneNumbers.json", {"PhoneNumber": "555000000*"}, 2),
    ],
    ids=["messages-to", "messages-from", "calls-status", "calls-to-and-status", "numbers-wildcard"],
)
def test_list_filters(
    client: httpx.Client,
    fake_twilio: FakeTwilio,
    handle: str,
    path: str,
    params: dict[str, str],
    expected: int,
) -> None:
    fake_twilio.add(handle, {"to": "+15550000001", "from": VALID_TEST_NUMBER, "phone_number": "+15550000001"})
    fake_twilio.add(handle, {"to": "+15550000002", "from": VALID_TEST_NUMBER, "phone_number": "+15550000002"})
    fake_twilio.add(handle, {"to": "+15550000003", "status": "completed", "phone_number": "+15550000300"})

    listed = client.get(fake_twilio.path(path), params=params).json()

    assert len(listed[handle]) == expected


# -- faults --------------------------------------------------------------------------------------------------


def test_fail_next_429_carries_retry_after_and_then_recovers(
    client: httpx.Client, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_next(status=429, headers={"Retry-After": "1"}, code=20429, times=1)

    throttled = send_sms(client, fake_twilio, SMS)
    retried = send_sms(client, fake_twilio, SMS)

    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.json()["code"] == 20429
    assert retried.status_code == 201
    assert len(fake_twilio.requests) == 2
    assert fake_twilio.all("messages")[0]["sid"] == retried.json()["sid"]  # the throttled one was not stored


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503)], ids=["500", "503"])
def test_fail_next_5xx_fails_the_given_number_of_times(
    client: httpx.Client, fake_twilio: FakeTwilio, status: int, code: int
) -> None:
    fake_twilio.fail_next(status, times=2, method="POST", path="/Messages.json")

    statuses = [send_sms(client, fake_twilio, SMS).status_code for _ in range(3)]
    listed = client.get(fake_twilio.path("Messages.json"))

    assert statuses == [status, status, 201]
    assert listed.status_code == 200


def test_fail_next_raw_body_replaces_the_twilio_json(client: httpx.Client, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(502, raw_body=b"<html>Bad Gateway</html>", headers={"Content-Type": "text/html"})

    response = send_sms(client, fake_twilio, SMS)

    assert (response.status_code, response.text) == (502, "<html>Bad Gateway</html>")


# -- running without a port ----------------------------------------------------------------------------------


async def test_app_works_in_process_through_asgi_transport(fake_twilio_asgi: FakeTwilio) -> None:
    transport = httpx.ASGITransport(app=fake_twilio_asgi.app)
    base_url = "https://api.twilio.com"
    async with httpx.AsyncClient(transport=transport, base_url=base_url, auth=fake_twilio_asgi.auth) as http:
        response = await http.post(fake_twilio_asgi.path("Messages.json"), data=SMS)

    assert response.status_code == 201
    assert fake_twilio_asgi.requests[0].form_values("Body") == ["Hello"]
