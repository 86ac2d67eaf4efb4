"""Rendering the real definition's operations into requests: the wire format Twilio expects, and every
422 before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest

from app.action.template import declared_names, render
from app.connector.schema import OperationDef
from app.errors import Unprocessable
from tests.action.conftest import twilio_definition

ACCOUNT = "AC" + "0" * 32
CREDENTIALS = {"AccountSid": ACCOUNT}
RESOURCES = {r.handle: r for r in twilio_definition().resources}


def op(handle: str, kind: str) -> OperationDef:
    definition: OperationDef | None = getattr(RESOURCES[handle].operations, kind)
    assert definition is not None
    return definition


def rendered(handle: str, kind: str, values: dict[str, Any]) -> Any:
    return render(op(handle, kind), values, CREDENTIALS, operation=f"{handle}.{kind}")


SMS = {"to": "+15005550006", "from": "+15005550001", "body": "Hi"}


@pytest.mark.parametrize(
    ("handle", "kind", "values", "path", "query", "form"),
    [
        ("messages", "create", SMS, f"/Accounts/{ACCOUNT}/Messages.json", (),
         (("To", "+15005550006"), ("From", "+15005550001"), ("Body", "Hi"))),
        ("messages", "create", {**SMS, "body": None, "media_urls": ["https://a/1.jpg", "https://a/2.jpg"]},
         f"/Accounts/{ACCOUNT}/Messages.json", (),
         (("To", "+15005550006"), ("From", "+15005550001"), ("MediaUrl", "https://a/1.jpg"), ("MediaUrl", "https://a/2.jpg"))),
        ("messages", "create", {**SMS, "media_urls": "https://a/1.jpg"}, f"/Accounts/{ACCOUNT}/Messages.json", (),
         (("To", "+15005550006"), ("From", "+15005550001"), ("Body", "Hi"), ("MediaUrl", "https://a/1.jpg"))),
        ("messages", "create", {**SMS, "smart_encoded": True, "validity_period": 60, "provide_feedback": "FALSE"},
         f"/Accounts/{ACCOUNT}/Messages.json", (),
         (("To", "+15005550006"), ("From", "+15005550001"), ("Body", "Hi"), ("ProvideFeedback", "false"),
          ("ValidityPeriod", "60"), ("SmartEncoded", "true"))),
        ("calls", "create", {"to": "+1", "from": "+2", "twiml": "<Response/>",
                             "status_callback_events": ["initiated", "completed"]},
         f"/Accounts/{ACCOUNT}/Calls.json", (),
         (("To", "+1"), ("From", "+2"), ("Twiml", "<Response/>"),
          ("StatusCallbackEvent", "initiated"), ("StatusCallbackEvent", "completed"))),
        ("messages", "list", {"date_sent_before": "2026-01-01", "page_size": "20"},
         f"/Accounts/{ACCOUNT}/Messages.json", (("DateSent<", "2026-01-01"), ("PageSize", "20")), ()),
        ("messages", "read", {"sid": "SM/../Calls?x=1"}, f"/Accounts/{ACCOUNT}/Messages/SM%2F..%2FCalls%3Fx%3D1.json", (), ()),
        ("participants", "read", {"conference_sid": "CF1", "sid": "CA2"},
         f"/Accounts/{ACCOUNT}/Conferences/CF1/Participants/CA2.json", (), ()),
        ("available_phone_numbers", "list", {"country_code": "US", "sms_enabled": False},
         f"/Accounts/{ACCOUNT}/AvailablePhoneNumbers/US/Local.json", (("SmsEnabled", "false"),), ()),
        ("accounts", "read", {"sid": "AC1"}, "/Accounts/AC1.json", (), ()),
        ("incoming_phone_numbers", "update", {"sid": "PN1", "sms_url": ""},
         f"/Accounts/{ACCOUNT}/IncomingPhoneNumbers/PN1.json", (), (("SmsUrl", ""),)),
        ("recordings", "read", {"sid": "RE1", "include_soft_deleted": True},
         f"/Accounts/{ACCOUNT}/Recordings/RE1.json", (("IncludeSoftDeleted", "true"),), ()),
    ],
    ids=["sms", "two-media-urls-repeat-the-key", "one-media-url-as-a-string", "typed-values", "call-events-repeat",
         "list-range-filter-keeps-twilio-name", "sid-is-percent-encoded", "nested-path", "path-and-boolean-query",
         "account-itself", "empty-string-is-sent-to-clear", "read-with-query"],
)  # fmt: skip
def test_renders_twilio_wire_format(
    handle: str, kind: str, values: dict[str, Any], path: str, query: tuple[Any, ...], form: tuple[Any, ...]
) -> None:
    request = rendered(handle, kind, values)
    assert (request.path, request.query, request.form) == (path, query, form)
    assert request.method == op(handle, kind).method


def test_null_and_absent_placeholders_send_nothing() -> None:
    request = rendered("messages", "create", {**SMS, "status_callback": None, "media_urls": None})
    assert [key for key, _ in request.form] == ["To", "From", "Body"]


@pytest.mark.parametrize(
    ("handle", "kind", "values", "problems"),
    [
        ("messages", "create", {"from": "+1", "body": "x"}, ["'to' is required"]),
        ("messages", "create", {"to": "", "from": "+1", "body": "x"}, ["'to' is required"]),
        ("messages", "create", {"to": "+1", "body": "x"}, ["give one of 'from', 'messaging_service_sid'"]),
        ("messages", "create", {"to": "+1", "from": "+2"}, ["give one of 'body', 'media_urls', 'content_sid'"]),
        ("messages", "create", {"to": "+1", "from": "+2", "media_urls": []}, ["give one of 'body', 'media_urls'"]),
        ("messages", "create", {"to": "+1", "from": "+2", "body": "", "media_urls": ["", ""]}, ["give one of 'body', 'media_urls'"]),
        ("messages", "create", {}, ["'to' is required", "'from', 'messaging_service_sid'", "'body', 'media_urls'"]),
        ("participants", "list", {}, ["'conference_sid' is required (a path parameter)"]),
        ("messages", "read", {"sid": ".."}, ["'sid' cannot be '..'"]),
        ("messages", "create", {**SMS, "bdy": "typo"}, ["unknown parameter(s) 'bdy'"]),
        ("messages", "create", {**SMS, "AccountSid": "AC9"}, ["unknown parameter(s) 'AccountSid'"]),
        ("messages", "create", {**SMS, "validity_period": "soon"}, ["'validity_period' must be an integer"]),
        ("messages", "create", {**SMS, "smart_encoded": "yes"}, ["'smart_encoded' must be a boolean"]),
        ("messages", "create", {**SMS, "body": ["a", "b"]}, ["'body' takes one value"]),
        ("messages", "create", {**SMS, "media_urls": [{"url": "x"}]}, ["'media_urls' must be a list of strings"]),
        ("messages", "create", {**SMS, "to": True}, ["'to' must be a string"]),
    ],
    ids=["missing-to", "blank-to", "no-sender", "no-content", "empty-media-list", "blank-body-and-media-urls", "all-problems-at-once",
         "missing-parent-path-placeholder", "dot-segment-sid", "unknown-name", "credential-from-caller",
         "not-an-integer", "not-a-boolean", "list-for-a-scalar", "object-in-array", "boolean-for-a-string"],
)  # fmt: skip
def test_invalid_values_are_422_naming_each_problem(
    handle: str, kind: str, values: dict[str, Any], problems: list[str]
) -> None:
    with pytest.raises(Unprocessable) as caught:
        rendered(handle, kind, values)
    assert caught.value.message.startswith(f"{handle}.{kind}: ")
    for problem in problems:
        assert problem in caught.value.message


def test_account_sid_always_comes_from_the_configured_credentials() -> None:
    request = render(op("messages", "list"), {}, {"AccountSid": "AC_configured"}, operation="messages.list")
    assert request.path == "/Accounts/AC_configured/Messages.json"


def test_the_auth_token_is_never_available_to_templates() -> None:
    definition = OperationDef.model_validate(
        {"method": "POST", "path": {"value": "/Accounts/{{AccountSid}}/X.json"},
         "bodyTemplate": {"value": {"Token": "{{AuthToken}}"}}}
    )  # fmt: skip
    with pytest.raises(Unprocessable, match="AuthToken"):
        render(definition, {}, CREDENTIALS, operation="x.create")


def test_literals_and_text_around_placeholders() -> None:
    definition = OperationDef.model_validate(
        {"method": "POST", "path": {"value": "/X.json"},
         "bodyTemplate": {"value": {"Fixed": "yes", "Greeting": "Hello {{name}}!", "Account": "{{AccountSid}}"},
                          "placeholders": [{"name": "name"}]}}
    )  # fmt: skip
    assert render(definition, {"name": "Ada"}, CREDENTIALS, operation="x").form == (
        ("Fixed", "yes"), ("Greeting", "Hello Ada!"), ("Account", ACCOUNT)
    )  # fmt: skip
    # Text around an absent placeholder is not sent half-filled.
    assert render(definition, {}, CREDENTIALS, operation="x").form == (("Fixed", "yes"), ("Account", ACCOUNT))


def test_operation_headers_are_rendered_and_dropped_when_absent() -> None:
    definition = OperationDef.model_validate(
        {"method": "GET", "path": {"value": "/X.json"},
         "headers": {"X-Account": {"value": "{{AccountSid}}"},
                     "X-Trace": {"value": "t-{{trace}}", "placeholders": [{"name": "trace"}]}}}
    )  # fmt: skip
    assert render(definition, {"trace": "1"}, CREDENTIALS, operation="x").headers == (
        ("X-Account", ACCOUNT), ("X-Trace", "t-1")
    )  # fmt: skip
    assert render(definition, {}, CREDENTIALS, operation="x").headers == (("X-Account", ACCOUNT),)


def test_defaults_fill_absent_placeholders() -> None:
    definition = OperationDef.model_validate(
        {"method": "GET", "path": {"value": "/X.json"},
         "queryParams": {"value": {"PageSize": "{{page_size}}"},
                         "placeholders": [{"name": "page_size", "type": "Integer", "default": 20}]}}
    )  # fmt: skip
    assert render(definition, {}, CREDENTIALS, operation="x").query == (("PageSize", "20"),)
    assert render(definition, {"page_size": 5}, CREDENTIALS, operation="x").query == (("PageSize", "5"),)


def test_every_declared_name_of_messages_create_is_accepted() -> None:
    names = declared_names(op("messages", "create"))
    assert {"to", "from", "body", "media_urls", "status_callback"} <= set(names)
