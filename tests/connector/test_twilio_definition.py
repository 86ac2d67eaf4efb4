"""``connectors/twilio.json`` checked against Twilio's own OpenAPI spec of the 2010-04-01 REST API.

The spec is ``tests/fixtures/twilio_api_v2010.json`` (twilio/twilio-oai, release 2.6.7). The checkers below
return a list of problems (empty = matches Twilio); the last section feeds them deliberately wrong input to
prove they can fail.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.connector.schema import (
    CREDENTIAL_PLACEHOLDERS,
    PLACEHOLDER,
    ConnectorDef,
    OperationDef,
    ParamsTemplate,
    ResourceDef,
    TemplateString,
    json_schema,
)

ROOT = Path(__file__).resolve().parents[2]
DEFINITION_FILE = ROOT / "connectors" / "twilio.json"
SCHEMA_FILE = ROOT / "connectors" / "schema.json"
SPEC_FILE = ROOT / "tests" / "fixtures" / "twilio_api_v2010.json"

API_PREFIX = "/2010-04-01"
BASE_URL = "https://api.twilio.com" + API_PREFIX
KINDS = ("list", "read", "create", "update", "delete")
KIND_METHOD = {"list": "GET", "read": "GET", "create": "POST", "update": "POST", "delete": "DELETE"}
# x-twilio.pathType of the spec path each kind of operation works on.
KIND_PATH_TYPE = {
    "list": "list",
    "create": "list",
    "read": "instance",
    "update": "instance",
    "delete": "instance",
}
PLACEHOLDER_TYPES = {
    "string": "String",
    "integer": "Integer",
    "number": "Number",
    "boolean": "Boolean",
    "array": "Array",
}

SEED_HANDLES = [
    "messages",
    "calls",
    "accounts",
    "addresses",
    "applications",
    "incoming_phone_numbers",
    "recordings",
    "transcriptions",
    "keys",
    "available_phone_numbers",
    "conferences",
    "participants",
    "queues",
    "validation_requests",
]

# Operations the spec has on a resource's paths that belong to another Twilio resource. On
# OutgoingCallerIds.json only POST is CreateValidationRequest (x-twilio mountName "validation_requests");
# its GET and the OutgoingCallerIds/{Sid}.json operations manage outgoing caller IDs.
FOREIGN_OPERATIONS = {"validation_requests": {"list", "read", "update", "delete"}}

# CONTRACT.md section 3: event type -> (route, dedupe key).
CONTRACT_WEBHOOKS = {
    "messages/message_received": ("/webhooks/twilio/messages", [["MessageSid"]]),
    "calls/call_received": ("/webhooks/twilio/calls", [["CallSid"]]),
    "messages/message_status": ("/webhooks/twilio/messages/status", [["MessageSid"], ["MessageStatus"]]),
    "calls/call_status": (
        "/webhooks/twilio/calls/status",
        [["CallSid"], ["CallStatus"], ["SequenceNumber"]],
    ),
}

SPEC: dict[str, Any] = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
RAW: dict[str, Any] = json.loads(DEFINITION_FILE.read_text(encoding="utf-8"))


@functools.cache
def definition() -> ConnectorDef:
    return ConnectorDef.model_validate(RAW)


def resource(handle: str) -> ResourceDef:
    return next(r for r in definition().resources if r.handle == handle)


# --------------------------------------------------------------------------------------------------------
# Spec helpers
# --------------------------------------------------------------------------------------------------------


def deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def snake(name: str) -> str:
    """Twilio's x-twilio.conditional names parameters in snake_case: ``MediaUrl`` -> ``media_url``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def spec_shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def find_spec_path(template: str) -> tuple[str, list[tuple[str, str]]] | None:
    """The spec path a definition path names (placeholders matched by position) and the pairs
    (our placeholder, the spec's parameter)."""
    full = API_PREFIX + template
    ours = PLACEHOLDER.findall(full)
    shape = PLACEHOLDER.sub("{}", full)
    matches = [p for p in SPEC["paths"] if spec_shape(p) == shape]
    if len(matches) != 1:
        return None
    return matches[0], list(zip(ours, re.findall(r"\{([^}]+)\}", matches[0]), strict=True))


def spec_operation(spec_path: str, method: str) -> dict[str, Any] | None:
    op = SPEC["paths"][spec_path].get(method.lower())
    return op if isinstance(op, dict) else None


def request_schema(spec_op: dict[str, Any]) -> dict[str, Any] | None:
    body = spec_op.get("requestBody")
    if not body:
        return None
    return deref(body["content"]["application/x-www-form-urlencoded"]["schema"])


def query_parameters(spec_op: dict[str, Any], spec_path: str) -> dict[str, dict[str, Any]]:
    params = [
        deref(p) for p in spec_op.get("parameters", []) + SPEC["paths"][spec_path].get("parameters", [])
    ]
    return {
        p["name"]: {**deref(p["schema"]), "required": p.get("required", False)}
        for p in params
        if p["in"] == "query"
    }


def response_schemas(spec_op: dict[str, Any]) -> list[dict[str, Any]]:
    """The resource schemas an operation answers with (a list page contributes its items' schema)."""
    schemas = []
    for code, response in spec_op["responses"].items():
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if not code.startswith("2") or not schema:
            continue
        if "$ref" in schema:
            schemas.append(deref(schema))
        else:
            schemas += [deref(v["items"]) for v in schema["properties"].values() if v.get("type") == "array"]
    return schemas


def spec_type(schema: dict[str, Any]) -> str | None:
    return deref(schema).get("type")


# --------------------------------------------------------------------------------------------------------
# Checkers: each returns a list of problems, empty when the definition matches Twilio's spec
# --------------------------------------------------------------------------------------------------------


def path_problems(path: TemplateString, spec_params: list[tuple[str, str]]) -> list[str]:
    problems = []
    declared = {p.name: p for p in path.placeholders}
    for ours, theirs in spec_params:
        # {{AccountSid}} (filled from the credentials) goes exactly where Twilio has {AccountSid}
        if ours in CREDENTIAL_PLACEHOLDERS or theirs == "AccountSid":
            if (ours, theirs) != ("AccountSid", "AccountSid"):
                problems.append(f"path: {{{{{ours}}}}} stands where the spec has {{{theirs}}}")
        elif not (ours in declared and declared[ours].required):
            problems.append(f"path: placeholder {ours!r} is not declared with required: true")
    unused = sorted(set(declared) - set(path.names()))
    if unused:
        problems.append(f"path: declared placeholders not in the path: {unused}")
    return problems


def params_problems(
    where: str,
    template: ParamsTemplate,
    spec_params: dict[str, dict[str, Any]],
    required: set[str],
    conditional: list[list[str]] | None = None,
) -> list[str]:
    """``template`` (a bodyTemplate or queryParams) against the spec's parameters of the same operation."""
    problems = []
    declared = {p.name: p for p in template.placeholders}
    if len(declared) != len(template.placeholders):
        problems.append(f"{where}: a placeholder is declared twice")
    placeholder_of: dict[str, str] = {}
    for param, value in template.value.items():
        if param not in spec_params:
            problems.append(f"{where}: {param!r} is not a parameter of this operation in Twilio's spec")
            continue
        names = PLACEHOLDER.findall(value)
        if len(names) != 1 or value != "{{" + names[0] + "}}":
            continue  # a literal value: nothing to type-check
        placeholder_of[param] = names[0]
        expected = PLACEHOLDER_TYPES.get(spec_type(spec_params[param]) or "string", "String")
        if names[0] in declared and declared[names[0]].type != expected:
            problems.append(
                f"{where}: {param} is {expected} in the spec, placeholder {names[0]!r} says "
                f"{declared[names[0]].type}"
            )
    for param in sorted(required):
        if param not in template.value:
            problems.append(f"{where}: the spec requires {param!r}, the template lacks it")
        elif param in placeholder_of and not declared[placeholder_of[param]].required:
            problems.append(
                f"{where}: the spec requires {param!r}, placeholder {placeholder_of[param]!r} "
                "is not required: true"
            )
    required_placeholders = {placeholder_of[p] for p in required if p in placeholder_of}
    for name, placeholder in declared.items():
        if placeholder.required and name not in required_placeholders:
            problems.append(f"{where}: placeholder {name!r} is required but the spec does not require it")
    # oneOf mirrors x-twilio.conditional: one group per conditional group, naming the placeholders of
    # exactly the parameters that group lists ("media_url" is MediaUrl, whose placeholder is media_urls)
    expected_groups = []
    for group in conditional or []:
        params = [p for p in template.value if snake(p) in group]
        missing = sorted(set(group) - {snake(p) for p in params})
        if missing:
            problems.append(f"{where}: x-twilio.conditional names {missing}, absent from the template")
        expected_groups.append(sorted(placeholder_of[p] for p in params if p in placeholder_of))
    if sorted(sorted(g) for g in template.one_of) != sorted(expected_groups):
        problems.append(
            f"{where}: oneOf {template.one_of} does not mirror x-twilio.conditional {conditional}"
        )
    return problems


def operation_problems(kind: str, op: OperationDef) -> list[str]:
    """One operation against the spec: path, method, path placeholders, bodyTemplate and queryParams."""
    where = f"{op.method} {API_PREFIX}{op.path.value}"
    if op.method != KIND_METHOD[kind]:
        return [f"{where}: a {kind} operation is {KIND_METHOD[kind]}"]
    found = find_spec_path(op.path.value)
    if found is None:
        return [f"{where}: no such path in Twilio's spec"]
    spec_path, spec_params = found
    spec_op = spec_operation(spec_path, op.method)
    if spec_op is None:
        return [f"{where}: the spec has no {op.method} on {spec_path}"]
    problems = [f"{where}: {p}" for p in path_problems(op.path, spec_params)]
    path_type = SPEC["paths"][spec_path].get("x-twilio", {}).get("pathType")
    if path_type != KIND_PATH_TYPE[kind]:
        problems.append(
            f"{where}: a {kind} works on a {KIND_PATH_TYPE[kind]} path, {spec_path} is {path_type}"
        )

    body = request_schema(spec_op)
    if body is None and op.body_template is not None:
        problems.append(f"{where}: the spec takes no request body, the definition has a bodyTemplate")
    elif body is not None and op.body_template is None:
        problems.append(f"{where}: the spec takes a request body ({body.get('title')}), bodyTemplate is null")
    elif body is not None and op.body_template is not None:
        conditional = (spec_op.get("x-twilio") or {}).get("conditional")
        problems += [
            f"{where}: {p}"
            for p in params_problems(
                "bodyTemplate",
                op.body_template,
                body["properties"],
                set(body.get("required", [])),
                conditional,
            )
        ]

    query = query_parameters(spec_op, spec_path)
    if op.query_params is not None:
        problems += [
            f"{where}: {p}"
            for p in params_problems(
                "queryParams", op.query_params, query, {n for n, q in query.items() if q["required"]}
            )
        ]
    if kind == "list" and (op.query_params is None or "PageSize" not in op.query_params.value):
        problems.append(f"{where}: a list operation maps PageSize")

    path_names = {p.name for p in op.path.placeholders}
    for template in (op.body_template, op.query_params):
        clash = path_names & set(template.names() if template else [])
        if clash:
            problems.append(f"{where}: placeholders {sorted(clash)} are both path and parameter placeholders")
    return problems


def resource_problems(res: ResourceDef) -> list[str]:
    """A resource as a whole: its operations are exactly Twilio's, on its endpoint (collection) and the
    instance path below it; its listKey is the array of the list page; every field selects a key (of the
    spec's type) of the JSON its operations answer with: read, list items, and for resources without those
    (validation_requests) or with create-only keys (a new key's ``secret``) the create response."""
    problems: list[str] = []
    found = find_spec_path(res.endpoint.value)
    if found is None:
        return [f"{res.handle}: endpoint {res.endpoint.value} is not a path of Twilio's spec"]
    collection, spec_params = found
    problems += [f"{res.handle}: endpoint {p}" for p in path_problems(res.endpoint, spec_params)]
    instances = [
        p
        for p in SPEC["paths"]
        if re.fullmatch(re.escape(collection.removesuffix(".json")) + r"/\{[^/}]+\}\.json", p)
    ]
    instance = instances[0] if len(instances) == 1 else None
    target = {
        "list": collection,
        "create": collection,
        "read": instance,
        "update": instance,
        "delete": instance,
    }

    ops = {kind: getattr(res.operations, kind) for kind in KINDS}
    for kind in KINDS:
        path = target[kind]
        in_spec = path is not None and spec_operation(path, KIND_METHOD[kind]) is not None
        in_spec = in_spec and kind not in FOREIGN_OPERATIONS.get(res.handle, set())
        op = ops[kind]
        if in_spec and op is None:
            problems.append(
                f"{res.handle}.{kind}: Twilio has {KIND_METHOD[kind]} {path}, the operation is null"
            )
        elif not in_spec and op is not None:
            problems.append(f"{res.handle}.{kind}: Twilio has no such operation, it must be null")
        elif op is not None:
            located = find_spec_path(op.path.value)
            if located is not None and located[0] != path:
                problems.append(f"{res.handle}.{kind}: path is {located[0]}, expected {path}")

    schemas: list[dict[str, Any]] = []
    for kind, op in ops.items():
        located = find_spec_path(op.path.value) if op else None
        spec_op = spec_operation(located[0], op.method) if op and located else None
        if spec_op is None:
            continue
        schemas += response_schemas(spec_op)
        if kind == "list":
            page = spec_op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
            if res.list_key not in page or page[res.list_key].get("type") != "array":
                arrays = [k for k, v in page.items() if v.get("type") == "array"]
                problems.append(f"{res.handle}: listKey {res.list_key!r} is not the page's array {arrays}")
    if ops["list"] is None and res.list_key is not None:
        problems.append(f"{res.handle}: listKey without a list operation")

    properties: dict[str, Any] = {}
    for schema in schemas:
        for key, prop in schema.get("properties", {}).items():
            properties.setdefault(key, prop)
    for field in res.fields:
        key = field.selector[0]
        if key not in properties:
            problems.append(f"{res.handle}: field {field.name!r} selects {key!r}, not a key of Twilio's JSON")
            continue
        expected = spec_type(properties[key])
        if len(field.selector) == 1 and expected is not None and field.type.value != expected:
            problems.append(
                f"{res.handle}: field {field.name!r} is {field.type.value}, Twilio's is {expected}"
            )
    return problems


def webhook_problems(resources: list[ResourceDef]) -> list[str]:
    problems = []
    declared = {f"{r.handle}/{w.event}": w for r in resources for w in r.webhooks}
    if set(declared) != set(CONTRACT_WEBHOOKS):
        problems.append(f"webhook events {sorted(declared)} != the contract's {sorted(CONTRACT_WEBHOOKS)}")
    for event, (path, dedupe) in CONTRACT_WEBHOOKS.items():
        hook = declared.get(event)
        if hook is None:
            continue
        if hook.path != path:
            problems.append(f"{event}: path {hook.path} != {path}")
        if hook.dedupe_key != dedupe:
            problems.append(f"{event}: dedupeKey {hook.dedupe_key} != {dedupe}")
        selected = [f.selector for f in hook.payload]
        problems += [
            f"{event}: dedupe selector {s} is not a payload field" for s in dedupe if s not in selected
        ]
        names = {f.name for f in hook.payload}
        problems += [
            f"{event}: payload lacks {n!r}" for n in ("sid", "account_sid", "from", "to") if n not in names
        ]
        for f in hook.payload:
            if len(f.selector) != 1 or not re.fullmatch(r"[A-Z][A-Za-z0-9]*", str(f.selector[0])):
                problems.append(
                    f"{event}: {f.name} selects {f.selector}, not a Twilio webhook parameter name"
                )
    return problems


# --------------------------------------------------------------------------------------------------------
# The definition matches Twilio
# --------------------------------------------------------------------------------------------------------

RESOURCE_IDS = [r["handle"] for r in RAW["resources"]]
OPERATION_CASES = [
    pytest.param(r["handle"], kind, id=f"{r['handle']}.{kind}")
    for r in RAW["resources"]
    for kind in KINDS
    if r["operations"].get(kind) is not None
]


def test_definition_validates() -> None:
    assert definition().handle == "twilio"


def test_schema_json_is_current() -> None:
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == json_schema()


def test_exactly_the_seed_resources() -> None:
    assert [r.handle for r in definition().resources] == SEED_HANDLES


def test_service() -> None:
    service = definition().service
    assert service.base_url.value == BASE_URL
    assert service.protocol == "https"
    assert service.content_type == "application/x-www-form-urlencoded"
    assert {k: v.value for k, v in service.headers.items()} == {"Accept": "application/json"}
    basic = service.auth.params.basic
    assert (basic.username.value, basic.password.value) == ("{{AccountSid}}", "{{AuthToken}}")
    assert [p.name for p in basic.username.placeholders] == ["AccountSid"]
    assert [p.name for p in basic.password.placeholders] == ["AuthToken"]
    assert SPEC["servers"][0]["url"] + API_PREFIX == BASE_URL


@pytest.mark.parametrize(("handle", "kind"), OPERATION_CASES)
def test_operation_matches_spec(handle: str, kind: str) -> None:
    op = getattr(resource(handle).operations, kind)
    assert operation_problems(kind, op) == []


@pytest.mark.parametrize("handle", RESOURCE_IDS)
def test_resource_matches_spec(handle: str) -> None:
    assert resource_problems(resource(handle)) == []


def test_webhooks_match_contract() -> None:
    assert webhook_problems(definition().resources) == []


# The parameters that matter most, per operation: (Twilio parameter names, expected oneOf).
KEY_PARAMETERS = {
    "messages.create": (
        "To From MessagingServiceSid Body MediaUrl StatusCallback ContentSid ContentVariables",
        [["from", "messaging_service_sid"], ["body", "media_urls", "content_sid"]],
    ),
    "calls.create": (
        "To From Url Twiml ApplicationSid StatusCallback StatusCallbackEvent StatusCallbackMethod Method "
        "Timeout Record MachineDetection",
        [["url", "twiml", "application_sid"]],
    ),
    "messages.update": ("Body Status", []),
    "calls.update": ("Url Twiml Status Method", []),
    "incoming_phone_numbers.create": (
        "PhoneNumber AreaCode SmsUrl VoiceUrl",
        [["phone_number", "area_code"]],
    ),
    "incoming_phone_numbers.update": (
        "SmsUrl SmsMethod VoiceUrl VoiceMethod StatusCallback StatusCallbackMethod SmsFallbackUrl "
        "VoiceFallbackUrl FriendlyName",
        [],
    ),
    "participants.create": ("From To Label Muted StatusCallback StatusCallbackEvent", []),
    "participants.update": ("Muted Hold AnnounceUrl", []),
    "addresses.create": ("CustomerName Street City Region PostalCode IsoCountry", []),
    "queues.create": ("FriendlyName MaxSize", []),
    "validation_requests.create": ("PhoneNumber FriendlyName CallDelay Extension", []),
}


@pytest.mark.parametrize("case", KEY_PARAMETERS)
def test_key_parameters_are_mapped(case: str) -> None:
    handle, kind = case.split(".")
    params, one_of = KEY_PARAMETERS[case]
    template = getattr(resource(handle).operations, kind).body_template
    assert set(params.split()) <= set(template.value)
    assert template.one_of == one_of


KEY_FILTERS = {
    "messages": "To From DateSent PageSize",
    "calls": "To From Status PageSize",
    "incoming_phone_numbers": "PhoneNumber FriendlyName PageSize",
    "available_phone_numbers": "AreaCode Contains SmsEnabled VoiceEnabled PageSize",
    "participants": "Muted Hold PageSize",
}


@pytest.mark.parametrize("handle", KEY_FILTERS)
def test_key_list_filters_are_mapped(handle: str) -> None:
    assert set(KEY_FILTERS[handle].split()) <= set(resource(handle).operations.list.query_params.value)


def test_array_placeholders() -> None:
    create = resource("messages").operations.create
    media = next(p for p in create.body_template.placeholders if p.name == "media_urls")
    assert create.body_template.value["MediaUrl"] == "{{media_urls}}"
    assert media.type == "Array"


# --------------------------------------------------------------------------------------------------------
# The checkers can fail: deliberately wrong input
# --------------------------------------------------------------------------------------------------------


def raw_operation(handle: str, kind: str) -> dict[str, Any]:
    return copy.deepcopy(next(r for r in RAW["resources"] if r["handle"] == handle)["operations"][kind])


def with_path(op: dict[str, Any], value: str, *names: str) -> dict[str, Any]:
    op["path"] = {"value": value, "placeholders": [{"name": n, "required": True} for n in names]}
    return op


def add_param(template: dict[str, Any], param: str, name: str, **placeholder: Any) -> dict[str, Any]:
    template["value"][param] = "{{" + name + "}}"
    template["placeholders"].append({"name": name, **placeholder})
    return template


def drop_param(template: dict[str, Any], param: str) -> dict[str, Any]:
    name = PLACEHOLDER.findall(template["value"].pop(param))[0]
    template["placeholders"] = [p for p in template["placeholders"] if p["name"] != name]
    template["oneOf"] = [[n for n in g if n != name] for g in template.get("oneOf", [])]
    return template


def set_placeholder(template: dict[str, Any], name: str, **changes: Any) -> dict[str, Any]:
    next(p for p in template["placeholders"] if p["name"] == name).update(changes)
    return template


Mutation = Callable[[dict[str, Any]], Any]
BROKEN_OPERATIONS: list[Any] = [
    # the seed's caller-ID validation path
    pytest.param(
        "validation_requests",
        "create",
        lambda o: with_path(o, "/ValidationRequests.json"),
        "no such path",
        id="seed-validation-path",
    ),
    # the seed's participant path, cut loose from its conference
    pytest.param(
        "participants",
        "read",
        lambda o: with_path(o, "/Accounts/{{AccountSid}}/Participants/{{sid}}.json", "sid"),
        "no such path",
        id="participant-without-parent",
    ),
    # a fragment in the seed's style, not complete below the base URL
    pytest.param(
        "messages",
        "read",
        lambda o: with_path(o, "/Messages/{{sid}}.json", "sid"),
        "no such path",
        id="seed-fragment-path",
    ),
    pytest.param(
        "messages",
        "read",
        lambda o: with_path(o, "/Accounts/{{AccountSid}}/Messages/{{sid}}", "sid"),
        "no such path",
        id="missing-json-suffix",
    ),
    # right shape, but the credential lands on the account's own {Sid}
    pytest.param(
        "accounts",
        "read",
        lambda o: with_path(o, "/Accounts/{{AccountSid}}.json"),
        "stands where the spec has {Sid}",
        id="credential-in-sid-slot",
    ),
    pytest.param(
        "participants",
        "read",
        lambda o: set_placeholder(o["path"], "conference_sid", required=False),
        "required: true",
        id="optional-path-placeholder",
    ),
    pytest.param("messages", "update", lambda o: o.update(method="PATCH"), "is POST", id="wrong-method"),
    pytest.param(
        "messages",
        "create",
        lambda o: add_param(o["bodyTemplate"], "Url", "url"),
        "'Url' is not a parameter",
        id="unknown-body-param",
    ),
    pytest.param(
        "calls",
        "create",
        lambda o: drop_param(o["bodyTemplate"], "From"),
        "requires 'From'",
        id="required-param-missing",
    ),
    pytest.param(
        "queues",
        "create",
        lambda o: set_placeholder(o["bodyTemplate"], "friendly_name", required=False),
        "is not required: true",
        id="required-placeholder-optional",
    ),
    # the seed's messages create: body and from required, which Twilio does not require
    pytest.param(
        "messages",
        "create",
        lambda o: set_placeholder(o["bodyTemplate"], "body", required=True),
        "the spec does not require it",
        id="seed-required-body",
    ),
    pytest.param(
        "messages",
        "create",
        lambda o: o["bodyTemplate"].update(oneOf=[]),
        "does not mirror x-twilio.conditional",
        id="oneOf-missing",
    ),
    pytest.param(
        "calls",
        "create",
        lambda o: drop_param(o["bodyTemplate"], "Twiml"),
        "conditional names ['twiml']",
        id="conditional-param-missing",
    ),
    pytest.param(
        "messages",
        "create",
        lambda o: set_placeholder(o["bodyTemplate"], "media_urls", type="String"),
        "MediaUrl is Array",
        id="array-typed-string",
    ),
    pytest.param(
        "messages",
        "list",
        lambda o: add_param(o["queryParams"], "Status", "status"),
        "'Status' is not a parameter",
        id="unknown-query-param",
    ),
    pytest.param(
        "messages",
        "list",
        lambda o: drop_param(o["queryParams"], "PageSize"),
        "maps PageSize",
        id="list-without-page-size",
    ),
    pytest.param(
        "messages",
        "read",
        lambda o: o.update(bodyTemplate={"value": {"Body": "x"}}),
        "takes no request body",
        id="body-on-get",
    ),
    pytest.param(
        "messages",
        "update",
        lambda o: o.update(bodyTemplate=None),
        "bodyTemplate is null",
        id="update-without-body",
    ),
]


@pytest.mark.parametrize(("handle", "kind", "mutate", "expected"), BROKEN_OPERATIONS)
def test_operation_checker_catches(handle: str, kind: str, mutate: Mutation, expected: str) -> None:
    raw = raw_operation(handle, kind)
    assert operation_problems(kind, OperationDef.model_validate(raw)) == []
    mutate(raw)
    problems = operation_problems(kind, OperationDef.model_validate(raw))
    assert any(expected in p for p in problems), problems


def broken_resource(handle: str, mutate: Mutation) -> ResourceDef:
    raw = copy.deepcopy(next(r for r in RAW["resources"] if r["handle"] == handle))
    mutate(raw)
    return ResourceDef.model_validate(raw)


def set_field(raw: dict[str, Any], name: str, **changes: Any) -> None:
    next(f for f in raw["fields"] if f["name"] == name).update(changes)


BROKEN_RESOURCES: list[Any] = [
    # the seed left messages delete and participants create null
    pytest.param(
        "messages",
        lambda r: r["operations"].update(delete=None),
        "the operation is null",
        id="seed-messages-delete-null",
    ),
    pytest.param(
        "participants",
        lambda r: r["operations"].update(create=None),
        "the operation is null",
        id="seed-participants-create-null",
    ),
    # Twilio cannot create a conference or delete an account
    pytest.param(
        "conferences",
        lambda r: r["operations"].update(
            create={**r["operations"]["list"], "method": "POST", "queryParams": None}
        ),
        "must be null",
        id="conference-create",
    ),
    pytest.param(
        "accounts",
        lambda r: r["operations"].update(delete={**r["operations"]["read"], "method": "DELETE"}),
        "must be null",
        id="account-delete",
    ),
    pytest.param(
        "validation_requests",
        # GET OutgoingCallerIds.json exists, but it lists outgoing caller IDs, another resource
        lambda r: r.update(
            listKey="outgoing_caller_ids",
            operations={**r["operations"], "list": {"method": "GET", "path": r["endpoint"]}},
        ),
        "must be null",
        id="validation-requests-list",
    ),
    pytest.param("messages", lambda r: r.update(listKey="items"), "listKey 'items'", id="wrong-list-key"),
    # the seed's participant sid: Twilio's participant JSON has call_sid, no sid
    pytest.param(
        "participants",
        lambda r: set_field(r, "sid", selector=["sid"]),
        "selects 'sid'",
        id="seed-participant-sid",
    ),
    pytest.param(
        "messages",
        lambda r: set_field(r, "body", selector=["Body"]),
        "selects 'Body'",
        id="webhook-name-as-rest-selector",
    ),
    pytest.param(
        "participants",
        lambda r: set_field(r, "muted", type="string"),
        "Twilio's is boolean",
        id="seed-muted-string",
    ),
    pytest.param(
        "messages", lambda r: r.update(endpoint={"value": "/Messages.json"}), "not a path", id="seed-endpoint"
    ),
]


@pytest.mark.parametrize(("handle", "mutate", "expected"), BROKEN_RESOURCES)
def test_resource_checker_catches(handle: str, mutate: Mutation, expected: str) -> None:
    assert resource_problems(resource(handle)) == []
    problems = resource_problems(broken_resource(handle, mutate))
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda c: c["resources"][1]["webhooks"][1].update(dedupeKey=[["CallSid"], ["CallStatus"]]),
            "dedupeKey",
            id="call-status-without-sequence-number",
        ),
        pytest.param(
            lambda c: c["resources"][0]["webhooks"][0].update(path="/webhooks/twilio/sms"),
            "path",
            id="wrong-route",
        ),
        pytest.param(lambda c: c["resources"][0]["webhooks"].pop(1), "contract", id="missing-status-webhook"),
        pytest.param(
            lambda c: c["resources"][0]["webhooks"][0]["payload"][0].update(selector=["message_sid"]),
            "not a Twilio webhook parameter",
            id="snake-case-selector",
        ),
    ],
)
def test_webhook_checker_catches(mutate: Mutation, expected: str) -> None:
    raw = copy.deepcopy(RAW)
    mutate(raw)
    problems = webhook_problems(ConnectorDef.model_validate(raw).resources)
    assert any(expected in p for p in problems), problems


def test_seed_resources_fail_the_checker() -> None:
    """The seed's own operations (fragments glued onto ``endpoint``) do not describe Twilio's API."""
    seed_read = {
        "method": "GET",
        "path": {"value": "/{{sid}}.json", "placeholders": [{"name": "sid", "required": True}]},
    }
    assert operation_problems("read", OperationDef.model_validate(seed_read)) != []
