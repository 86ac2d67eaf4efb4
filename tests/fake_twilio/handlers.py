"""Generic create/list/fetch/update/delete over the store, for any operation of the spec.

Owns the semantics of a request that passed authentication and validation: which stored resources it
touches (collection + parent scope from the path), the status it answers (the spec's success code, 404
for a missing SID), and the body (the resource projected onto the operation's response schema).
Resource-specific details come from `behaviours.py` and `magic.py`.
"""

from dataclasses import dataclass
from typing import Any

from . import behaviours, listing, magic
from .auth import Authenticator, Principal
from .errors import not_found
from .params import Params
from .resources import ACCOUNTS, ResourceFactory, now_rfc2822, project
from .spec import Collection, Operation, Spec
from .state import Resource, Scope, Store


@dataclass(frozen=True, slots=True)
class Call:
    """A request on its way to a handler: already routed, authenticated and valid."""

    op: Operation
    path: str
    path_values: dict[str, str]
    query: Params
    form: Params
    principal: Principal


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: dict[str, Any] | None


class Handlers:
    def __init__(self, spec: Spec, store: Store, factory: ResourceFactory, auth: Authenticator) -> None:
        self._spec = spec
        self._store = store
        self._factory = factory
        self._auth = auth

    def handle(self, call: Call) -> Reply:
        match call.op.kind:
            case "create":
                return self._create(call)
            case "list":
                return self._list(call)
            case "fetch":
                return self._fetch(call)
            case "update":
                return self._update(call)
            case "delete":
                return self._delete(call)

    def _create(self, call: Call) -> Reply:
        op = call.op
        magic.check(op.operation_id, call.form)
        collection = self._spec.collection(op.collection)
        schema = {"properties": {**collection.properties, **op.item_schema.get("properties", {})}}
        fields = self._factory.fields_from_form(call.form, schema)
        hook = behaviours.CREATE_HOOKS.get(op.operation_id)
        if hook:
            hook(call.form, call.principal.account_sid, fields)
        key, resource = self._factory.build(collection, _scope_values(collection, call), fields, schema)
        if op.operation_id not in behaviours.TRANSIENT:
            self._store.put(collection.name, _scope(collection, call), key, resource)
        return Reply(op.success_status, project(resource, op.item_schema))

    def _list(self, call: Call) -> Reply:
        collection = self._spec.collection(call.op.collection)
        items = self._store.items(collection.name, _scope(collection, call))
        if collection.name == ACCOUNTS:
            items = [(sid, account) for sid, account in items if self._auth.may_access(call.principal, sid)]
        items = listing.select(items, call.op, call.query)
        return Reply(call.op.success_status, listing.page(items, call.op, call.path, call.query))

    def _fetch(self, call: Call) -> Reply:
        collection = self._spec.collection(call.op.collection)
        if call.op.id_param is None:
            # A singleton such as Balance.json: nothing to look up, so answer a fresh default.
            _, resource = self._factory.build(collection, _scope_values(collection, call), {})
        else:
            resource = self._existing(collection, call)
        return Reply(call.op.success_status, project(resource, call.op.item_schema))

    def _update(self, call: Call) -> Reply:
        collection = self._spec.collection(call.op.collection)
        resource = self._existing(collection, call)
        resource.update(self._factory.fields_from_form(call.form, collection.schema))
        if "date_updated" in resource:
            resource["date_updated"] = now_rfc2822()
        self._store.put(collection.name, _scope(collection, call), _key(call), resource)
        return Reply(call.op.success_status, project(resource, call.op.item_schema))

    def _delete(self, call: Call) -> Reply:
        collection = self._spec.collection(call.op.collection)
        self._existing(collection, call)
        self._store.delete(collection.name, _scope(collection, call), _key(call))
        return Reply(call.op.success_status, None)

    def _existing(self, collection: Collection, call: Call) -> Resource:
        resource = self._store.get(collection.name, _scope(collection, call), _key(call))
        if resource is None or (
            collection.name == ACCOUNTS and not self._auth.may_access(call.principal, _key(call))
        ):
            raise not_found(call.path)
        return resource


def _key(call: Call) -> str:
    assert call.op.id_param is not None  # only item operations (fetch/update/delete by SID) get here
    return call.path_values[call.op.id_param]


def _scope_values(collection: Collection, call: Call) -> dict[str, str]:
    """The parent path parameters that place a resource: `{"AccountSid": ..., "ConferenceSid": ...}`."""
    return {name: call.path_values[name] for name in collection.scope_params}


def _scope(collection: Collection, call: Call) -> Scope:
    return tuple(_scope_values(collection, call).values())
