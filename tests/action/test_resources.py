"""Every operation of every resource in the definition runs through the API against the fake Twilio.

The cases come from ``connectors/twilio.json`` itself, so a new operation is covered the day it is added
(and ``test_every_operation_that_needs_values_has_samples`` says when it needs sample values). The fake
fails any test whose request Twilio's OpenAPI spec would reject.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from app.connector.schema import PLACEHOLDER, OperationDef, ResourceDef
from tests.action.conftest import VALID, twilio_definition
from tests.conftest import AppHarness
from tests.fake_twilio import FakeTwilio

DEFINITION = twilio_definition()
RESOURCES = {resource.handle: resource for resource in DEFINITION.resources}
KINDS = ("list", "read", "create", "update", "delete")
OPERATIONS = [
    (resource.handle, kind)
    for resource in DEFINITION.resources
    for kind in KINDS
    if getattr(resource.operations, kind) is not None
]
NULL_OPERATIONS = [
    (resource.handle, kind)
    for resource in DEFINITION.resources
    for kind in KINDS
    if getattr(resource.operations, kind) is None
]

# Values for the operations that require some (Twilio's required parameters and oneOf groups), and for
# updates, so each sends a body. Lists all get a page size.
SAMPLES: dict[str, dict[str, Any]] = {
    "messages.create": {"to": VALID, "from": VALID, "body": "Hello"},
    "messages.update": {"body": ""},
    "calls.create": {"to": VALID, "from": VALID, "url": "https://example.com/twiml"},
    "calls.update": {"status": "completed"},
    "accounts.create": {"friendly_name": "Sub"},
    "accounts.update": {"friendly_name": "Renamed"},
    "addresses.create": {"customer_name": "Ada", "street": "1 Main St", "city": "Springfield", "region": "IL",
                         "postal_code": "62701", "iso_country": "US"},
    "addresses.update": {"friendly_name": "HQ"},
    "applications.create": {"friendly_name": "App", "voice_url": "https://example.com/voice"},
    "applications.update": {"friendly_name": "App 2"},
    "incoming_phone_numbers.create": {"phone_number": VALID},
    "incoming_phone_numbers.update": {"friendly_name": "Main line", "sms_url": "https://example.com/sms"},
    "keys.create": {"friendly_name": "Key"},
    "keys.update": {"friendly_name": "Key 2"},
    "conferences.update": {"status": "completed"},
    "participants.create": {"from": VALID, "to": VALID},
    "participants.update": {"muted": True},
    "queues.create": {"friendly_name": "Support", "max_size": 10},
    "queues.update": {"max_size": 20},
    "validation_requests.create": {"phone_number": VALID, "friendly_name": "Office"},
}  # fmt: skip


def _seed_plain(handle: str, fields: dict[str, Any] | None = None) -> Callable[[FakeTwilio], dict[str, str]]:
    def seed(fake: FakeTwilio) -> dict[str, str]:
        return {"sid": fake.add(handle, fields)["sid"]}

    return seed


def _seed_participant(fake: FakeTwilio) -> dict[str, str]:
    conference = fake.add("conferences", {"friendly_name": "Room"})
    participant = fake.add("participants", {"label": "guest"}, conference_sid=conference["sid"])
    return {"conference_sid": conference["sid"], "sid": participant["call_sid"]}


def _seed_available(fake: FakeTwilio) -> dict[str, str]:
    fake.add("available_phone_numbers", {"phone_number": VALID}, country_code="US")
    return {"country_code": "US"}


# One existing object per resource (its path values: `sid` and parents), so reads, updates, deletes and
# lists have something to find.
SEEDS: dict[str, Callable[[FakeTwilio], dict[str, str]]] = {
    "messages": _seed_plain("messages", {"to": VALID, "from": VALID, "body": "seeded"}),
    "calls": _seed_plain("calls", {"to": VALID, "from": VALID}),
    "accounts": _seed_plain("accounts", {"friendly_name": "Seeded sub"}),
    "addresses": _seed_plain("addresses", {"customer_name": "Ada"}),
    "applications": _seed_plain("applications"),
    "incoming_phone_numbers": _seed_plain("incoming_phone_numbers", {"phone_number": "+15005550010"}),
    "recordings": _seed_plain("recordings"),
    "transcriptions": _seed_plain("transcriptions"),
    "keys": _seed_plain("keys"),
    "available_phone_numbers": _seed_available,
    "conferences": _seed_plain("conferences"),
    "participants": _seed_participant,
    "queues": _seed_plain("queues", {"friendly_name": "Seeded"}),
    "validation_requests": lambda fake: {},
}
STATUS = {"list": 200, "read": 200, "create": 201, "update": 200, "delete": 204}


def _operation(handle: str, kind: str) -> OperationDef:
    definition: OperationDef | None = getattr(RESOURCES[handle].operations, kind)
    assert definition is not None
    return definition


def _needs_values(definition: OperationDef) -> bool:
    templates = [t for t in (definition.query_params, definition.body_template) if t is not None]
    return any(p.required for t in templates for p in t.placeholders) or any(t.one_of for t in templates)


def _twilio_path(definition: OperationDef, account_sid: str, values: dict[str, str]) -> str:
    filled = {"AccountSid": account_sid, **values}
    return "/2010-04-01" + PLACEHOLDER.sub(lambda m: filled[m.group(1)], definition.path.value)


def _field_names(resource: ResourceDef) -> set[str]:
    return {field.name for field in resource.fields}


def test_the_definition_has_operations_of_every_kind() -> None:
    assert {kind for _, kind in OPERATIONS} == set(KINDS)
    assert len(OPERATIONS) >= 50


def test_every_operation_that_needs_values_has_samples() -> None:
    missing = [
        f"{h}.{k}" for h, k in OPERATIONS if _needs_values(_operation(h, k)) and f"{h}.{k}" not in SAMPLES
    ]
    assert missing == [], f"add sample values to SAMPLES for {missing}"
    assert set(SEEDS) == set(RESOURCES), "add a seed to SEEDS for each new resource"


@pytest.mark.parametrize(("handle", "kind"), OPERATIONS, ids=[f"{h}.{k}" for h, k in OPERATIONS])
async def test_operation_runs_against_twilio(
    api: AppHarness, fake_twilio: FakeTwilio, handle: str, kind: str
) -> None:
    definition = _operation(handle, kind)
    resource = RESOURCES[handle]
    path_values = SEEDS[handle](fake_twilio)
    values = dict(SAMPLES.get(f"{handle}.{kind}", {}))
    parents = {name: value for name, value in path_values.items() if name != "sid"}
    twilio_values = dict(path_values)
    on_item = kind in ("read", "update", "delete")
    url = f"/api/v1/resources/{handle}" + (f"/{path_values['sid']}" if on_item else "")
    if kind == "list":
        response = await api.client.get(url, params={**parents, "page_size": 20, **values})
    elif kind in ("read", "delete"):
        response = await api.client.request("GET" if kind == "read" else "DELETE", url, params=parents)
    else:
        response = await api.client.post(url, json={**parents, **values})
        if kind == "create":
            twilio_values.pop("sid", None)

    assert response.status_code == STATUS[kind], response.text
    assert len(fake_twilio.requests) == 1
    sent = fake_twilio.requests[0]
    assert sent.method == definition.method
    assert sent.path == _twilio_path(definition, fake_twilio.account_sid, twilio_values)
    assert sent.headers["accept"] == "application/json"
    if definition.body_template is not None:
        template = {m.group(1): key for key, text in definition.body_template.value.items()
                    for m in [PLACEHOLDER.fullmatch(text)] if m}  # fmt: skip
        assert {key for key, _ in sent.form} == {template[name] for name in values if name in template}
    if kind == "delete":
        assert response.content == b""
        return
    body = response.json()
    items = body["items"] if kind == "list" else [body]
    assert items, "the seeded object is listed"
    for item in items:
        assert set(item["data"]) == _field_names(resource)
        assert isinstance(item["raw"], dict)
        for field in resource.fields:
            if len(field.selector) == 1 and field.type.value == "string":
                assert item["data"][field.name] == item["raw"].get(field.selector[0])
    if kind == "list":
        assert body["next_cursor"] is None


@pytest.mark.parametrize(("handle", "kind"), NULL_OPERATIONS, ids=[f"{h}.{k}" for h, k in NULL_OPERATIONS])
async def test_an_operation_the_definition_leaves_null_is_405(
    api: AppHarness, fake_twilio: FakeTwilio, handle: str, kind: str
) -> None:
    method, suffix = {"list": ("GET", ""), "read": ("GET", "/X1"), "create": ("POST", ""),
                      "update": ("POST", "/X1"), "delete": ("DELETE", "/X1")}[kind]  # fmt: skip
    response = await api.client.request(
        method, f"/api/v1/resources/{handle}{suffix}", json={} if method == "POST" else None
    )
    assert response.status_code == 405, response.text
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert fake_twilio.requests == []


async def test_conferences_create_is_405(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    response = await api.client.post("/api/v1/resources/conferences", json={"friendly_name": "x"})
    assert response.status_code == 405
    assert "conferences has no create operation" in response.json()["error"]["message"]


async def test_an_unknown_handle_is_404(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    for method, path in (("GET", "/api/v1/resources/nope"), ("GET", "/api/v1/resources/nope/X1"),
                         ("DELETE", "/api/v1/resources/nope/X1")):  # fmt: skip
        response = await api.client.request(method, path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert fake_twilio.requests == []


async def test_the_catalog_lists_every_resource_and_its_operations(api: AppHarness) -> None:
    response = await api.client.get("/api/v1/resources")
    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    listed = {item["handle"]: item for item in body["items"]}
    assert set(listed) == set(RESOURCES)
    for handle, kind in OPERATIONS:
        assert kind in [op["name"] for op in listed[handle]["operations"]]
    for handle, kind in NULL_OPERATIONS:
        assert kind not in [op["name"] for op in listed[handle]["operations"]]
    create = next(op for op in listed["messages"]["operations"] if op["name"] == "create")
    assert (create["method"], create["path"]) == ("POST", "/api/v1/resources/messages")
    media = next(p for p in create["parameters"] if p["name"] == "media_urls")
    assert media == {"name": "media_urls", "type": "Array", "required": False, "location": "body",
                     "twilio_name": "MediaUrl", "description": media["description"]}  # fmt: skip
    assert ["from", "messaging_service_sid"] in create["one_of"]
    participants = next(op for op in listed["participants"]["operations"] if op["name"] == "read")
    assert {(p["name"], p["location"]) for p in participants["parameters"]} == {
        ("conference_sid", "query"),
        ("sid", "path"),
    }


async def test_a_twilio_404_comes_back_as_a_twilio_error(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    response = await api.client.get("/api/v1/resources/messages/SM" + "0" * 32)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "twilio_error"
    assert error["twilio_code"] == 20404
    assert error["more_info"] == "https://www.twilio.com/docs/errors/20404"


async def test_list_filters_and_parent_placeholders_come_from_the_query(
    api: AppHarness, fake_twilio: FakeTwilio
) -> None:
    conference = fake_twilio.add("conferences")
    fake_twilio.add("participants", {"muted": True}, conference_sid=conference["sid"])
    fake_twilio.add("participants", {"muted": False}, conference_sid=conference["sid"])
    response = await api.client.get(
        "/api/v1/resources/participants", params={"conference_sid": conference["sid"], "muted": "true"}
    )
    assert response.status_code == 200, response.text
    assert [item["data"]["muted"] for item in response.json()["items"]] == [True]
    assert fake_twilio.requests[0].query_values("Muted") == ["true"]


async def test_a_list_without_its_parent_is_422_before_any_call(
    api: AppHarness, fake_twilio: FakeTwilio
) -> None:
    response = await api.client.get("/api/v1/resources/participants")
    assert response.status_code == 422
    assert "'conference_sid' is required" in response.json()["error"]["message"]
    assert fake_twilio.requests == []


async def test_an_unknown_parameter_is_422(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    response = await api.client.get("/api/v1/resources/messages", params={"sender": VALID})
    assert response.status_code == 422
    assert "unknown parameter(s) 'sender'" in response.json()["error"]["message"]
    assert fake_twilio.requests == []


async def test_three_pages_of_messages_come_in_order_by_cursor(
    api: AppHarness, fake_twilio: FakeTwilio
) -> None:
    for number in range(120):
        fake_twilio.add("messages", {"to": VALID, "from": VALID, "body": f"m{number:03d}"})
    bodies: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"page_size": 50, **({"cursor": cursor} if cursor else {})}
        response = await api.client.get("/api/v1/resources/messages", params=params)
        assert response.status_code == 200, response.text
        bodies.append([item["data"]["body"] for item in response.json()["items"]])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
        assert len(bodies) < 10
    assert [len(page) for page in bodies] == [50, 50, 20]
    assert [body for page in bodies for body in page] == [f"m{n:03d}" for n in range(120)]
    # Twilio's next_page_uri was followed as given (its PageToken), never a page built by hand.
    assert [r.query_values("PageToken") != [] for r in fake_twilio.requests] == [False, True, True]


async def test_limit_is_another_name_for_page_size(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    for _ in range(3):
        fake_twilio.add("queues", {"friendly_name": "Q"})
    response = await api.client.get("/api/v1/resources/queues", params={"limit": 2})
    assert len(response.json()["items"]) == 2
    assert fake_twilio.requests[0].query_values("PageSize") == ["2"]


@pytest.mark.parametrize(
    "cursor",
    ["not base64 at all!", "L2V2aWwuY29tL3g", "aHR0cHM6Ly9ldmlsLmNvbS8yMDEwLTA0LTAxL0FjY291bnRzLmpzb24"],
    ids=["garbage", "another-path", "absolute-url"],
)
async def test_a_cursor_for_another_place_is_422(
    api: AppHarness, fake_twilio: FakeTwilio, cursor: str
) -> None:
    response = await api.client.get("/api/v1/resources/messages", params={"cursor": cursor})
    assert response.status_code == 422
    assert fake_twilio.requests == []


async def test_a_calls_cursor_does_not_page_messages(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    for _ in range(3):
        fake_twilio.add("calls", {"to": VALID, "from": VALID})
    first = await api.client.get("/api/v1/resources/calls", params={"page_size": 1})
    cursor = first.json()["next_cursor"]
    assert cursor
    response = await api.client.get("/api/v1/resources/messages", params={"cursor": cursor})
    assert response.status_code == 422
    assert re.search("not a cursor for this list", response.json()["error"]["message"])


async def test_resources_need_the_bearer_token(api: AppHarness, fake_twilio: FakeTwilio) -> None:
    response = await api.client.get("/api/v1/resources/messages", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert fake_twilio.requests == []
