"""Twilio's 2010-04-01 OpenAPI document, compiled into the operations the fake routes and validates.

Owns: loading the JSON once per process, resolving `$ref`s, turning every path template + method into an
`Operation` (parameters, form body, `x-twilio.conditional` groups, success status, response shape), grouping
operations into `Collection`s (where resources of one kind are stored), and matching a request path to an
operation. Nothing here knows about HTTP or state.
"""

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

SPEC_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "twilio_api_v2010.json"
API_PREFIX = "/2010-04-01"

Schema = dict[str, Any]
Kind = Literal["create", "list", "fetch", "update", "delete"]
_KINDS: tuple[Kind, ...] = ("create", "list", "fetch", "update", "delete")
_METHODS = ("get", "post", "put", "patch", "delete")

# Twilio serves a number bought through /IncomingPhoneNumbers/Local.json from /IncomingPhoneNumbers.json
# too: they are one set of numbers viewed by type, so they share one store.
COLLECTION_ALIASES: dict[str, str] = {
    f"/Accounts/{{AccountSid}}/IncomingPhoneNumbers/{kind}": "/Accounts/{AccountSid}/IncomingPhoneNumbers"
    for kind in ("Local", "Mobile", "TollFree")
}

# Where a parent path parameter has no same-named property on the child, Twilio names it differently.
PARENT_PROPERTY_ALIASES: dict[str, str] = {"MessageSid": "parent_sid", "CountryCode": "iso_country"}


def snake(name: str) -> str:
    """`MessagingServiceSid` -> `messaging_service_sid`: how the spec's resources name form parameters."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


@dataclass(frozen=True, slots=True)
class Param:
    """One path, query or form parameter, with its schema's top-level `$ref` resolved."""

    name: str
    schema: Schema
    required: bool


@dataclass(frozen=True, slots=True)
class Collection:
    """Where one kind of resource lives: `/Accounts/{AccountSid}/Messages`, scoped by its path parameters."""

    name: str
    scope_params: tuple[str, ...]
    id_param: str | None
    item_template: str | None
    schema: Schema
    dependent: dict[str, Any]

    @property
    def properties(self) -> dict[str, Schema]:
        props: dict[str, Schema] = self.schema.get("properties", {})
        return props

    @property
    def id_property(self) -> str | None:
        """The property a stored resource is keyed by (`sid`, or `call_sid` for participants)."""
        if self.id_param is not None:
            return snake(self.id_param)
        for candidate in ("sid", "phone_number", "country_code"):
            if candidate in self.properties:
                return candidate
        return None


@dataclass(frozen=True, slots=True)
class Operation:
    """One `operationId`: what may be sent to it, and what it answers."""

    operation_id: str
    method: str
    template: str
    kind: Kind
    collection: str
    id_param: str | None
    path_params: tuple[Param, ...]
    query_params: dict[str, Param]
    body_params: dict[str, Param]
    conditional: tuple[tuple[str, ...], ...]
    success_status: int
    response_schema: Schema
    list_key: str | None
    item_schema: Schema


@dataclass(frozen=True, slots=True)
class RouteMatch:
    operation: Operation
    path_values: dict[str, str]


class UnknownPath(LookupError):
    """No spec path template matches the request path."""


class MethodNotAllowed(LookupError):
    def __init__(self, allowed: list[str]) -> None:
        super().__init__(", ".join(allowed))
        self.allowed = allowed


@dataclass(frozen=True, slots=True)
class _Route:
    template: str
    pattern: re.Pattern[str]
    specificity: tuple[int, int]
    operations: dict[str, Operation]


class Spec:
    """The compiled spec. Build it with `Spec.load()`; it is immutable and shared between fakes."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._schemas: dict[str, Schema] = document["components"]["schemas"]
        self.operations: dict[str, Operation] = {}
        routes: list[_Route] = []
        dependents: dict[str, dict[str, Any]] = {}
        for template, item in document["paths"].items():
            ops: dict[str, Operation] = {}
            for method in _METHODS:
                if method in item:
                    op = self._compile(template, method.upper(), item[method], item.get("parameters", []))
                    ops[op.method] = op
                    self.operations[op.operation_id] = op
            deps = item.get("x-twilio", {}).get("dependentProperties")
            for op in ops.values():
                if deps:
                    dependents.setdefault(op.collection, deps)
            routes.append(_route(template, ops))
        # Literal segments beat parameters: /IncomingPhoneNumbers/Local.json is not a fetch of SID "Local".
        self._routes = sorted(routes, key=lambda r: r.specificity)
        self.collections = self._collections(dependents)

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> "Spec":
        """The spec at `path`, parsed once per process (the file is 1.8 MB)."""
        return _load(str(path))

    def deref(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            schema = self._schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def match(self, method: str, path: str) -> RouteMatch:
        allowed: list[str] | None = None
        for route in self._routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            op = route.operations.get(method)
            if op is None:
                allowed = allowed or sorted(route.operations)
                continue
            return RouteMatch(op, found.groupdict())
        if allowed is not None:
            raise MethodNotAllowed(allowed)
        raise UnknownPath(path)

    def collection(self, name: str) -> Collection:
        return self.collections[COLLECTION_ALIASES.get(name, name)]

    def _compile(
        self, template: str, method: str, raw: dict[str, Any], shared: list[dict[str, Any]]
    ) -> Operation:
        operation_id: str = raw["operationId"]
        kind = next(k for k in _KINDS if operation_id.lower().startswith(k))
        params = [self.deref(p) for p in [*shared, *raw.get("parameters", [])]]
        path_params = tuple(self._param(p) for p in params if p["in"] == "path")
        query_params = {p["name"]: self._param(p) for p in params if p["in"] == "query"}
        body_params: dict[str, Param] = {}
        if "requestBody" in raw:
            body = raw["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
            required = set(body.get("required", []))
            body_params = {
                name: Param(name, self.deref(schema), name in required)
                for name, schema in body.get("properties", {}).items()
            }
        # The spec names conditional groups in snake_case; requests use the PascalCase form names.
        by_snake = {snake(name): name for name in body_params}
        conditional = tuple(
            tuple(by_snake.get(n, n) for n in group)
            for group in raw.get("x-twilio", {}).get("conditional", [])
        )
        status, response_schema = self._success(kind, raw["responses"])
        list_key, item_schema = None, response_schema
        if kind == "list":
            for key, prop in response_schema.get("properties", {}).items():
                if prop.get("type") == "array":
                    list_key, item_schema = key, self.deref(prop["items"])
        rel = template.removeprefix(API_PREFIX).removesuffix(".json")
        id_param = None
        trailing = re.fullmatch(r"(.*)/\{(\w+)\}", rel)
        if trailing and kind in ("fetch", "update", "delete"):
            rel, id_param = trailing.group(1), trailing.group(2)
        return Operation(
            operation_id=operation_id,
            method=method,
            template=template,
            kind=kind,
            collection=COLLECTION_ALIASES.get(rel, rel),
            id_param=id_param,
            path_params=path_params,
            query_params=query_params,
            body_params=body_params,
            conditional=conditional,
            success_status=status,
            response_schema=response_schema,
            list_key=list_key,
            item_schema=item_schema,
        )

    def _param(self, raw: dict[str, Any]) -> Param:
        return Param(raw["name"], self.deref(raw.get("schema", {})), bool(raw.get("required", False)))

    def _success(self, kind: Kind, responses: dict[str, Any]) -> tuple[int, Schema]:
        codes = sorted(int(code) for code in responses)
        successes = [c for c in codes if 200 <= c < 300] or codes
        # CreateCallRecording documents 200 and 201; Twilio answers a create with 201.
        status = 201 if kind == "create" and 201 in successes else successes[0]
        content = responses[str(status)].get("content", {}).get("application/json", {})
        return status, self.deref(content.get("schema", {}))

    def _collections(self, dependents: dict[str, dict[str, Any]]) -> dict[str, Collection]:
        grouped: dict[str, list[Operation]] = {}
        for op in self.operations.values():
            grouped.setdefault(op.collection, []).append(op)
        collections: dict[str, Collection] = {}
        for name, ops in grouped.items():
            # The shortest template wins: ListIncomingPhoneNumber describes the store, not ...Local.
            by_kind = {op.kind: op for op in sorted(ops, key=lambda o: -len(o.template))}
            item_op = by_kind.get("fetch") or by_kind.get("update") or by_kind.get("delete")
            schema_op = by_kind.get("fetch") or by_kind.get("list") or ops[0]
            collections[name] = Collection(
                name=name,
                scope_params=tuple(re.findall(r"\{(\w+)\}", name)),
                id_param=item_op.id_param if item_op else None,
                item_template=item_op.template if item_op and item_op.id_param else None,
                schema=schema_op.item_schema,
                dependent=dependents.get(name, {}),
            )
        return collections


def _route(template: str, operations: dict[str, Operation]) -> _Route:
    regex = ""
    for literal, param in re.findall(r"([^{]*)(?:\{(\w+)\})?", template):
        regex += re.escape(literal) + (f"(?P<{param}>[^/]+)" if param else "")
    n_params = template.count("{")
    return _Route(template, re.compile(regex), (n_params, -len(template)), operations)


@cache
def _load(path: str) -> Spec:
    with open(path, encoding="utf-8") as handle:
        return Spec(json.load(handle))
