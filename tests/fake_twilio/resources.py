"""What a resource looks like: complete JSON objects built from the spec's component schemas.

Owns: the friendly handles tests seed with (`"messages"`, `"participants"` ...), SID generation with the
prefix the schema's `sid` pattern demands, sensible defaults (RFC 2822 dates, `uri`, `subresource_uris`,
`status` of a new message or call), turning form parameters into snake_case properties, and projecting a
stored resource onto the properties an operation's response schema declares.
"""

import re
import secrets
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from .params import Params
from .spec import PARENT_PROPERTY_ALIASES, Collection, Schema, Spec, snake
from .state import Resource

ACCOUNTS = "/Accounts"
KEYS = "/Accounts/{AccountSid}/Keys"
_AVAILABLE = "/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}"

# The names tests use with `fake.add(...)`; any collection template from the spec works too.
HANDLES: dict[str, str] = {
    "accounts": ACCOUNTS,
    "messages": "/Accounts/{AccountSid}/Messages",
    "media": "/Accounts/{AccountSid}/Messages/{MessageSid}/Media",
    "calls": "/Accounts/{AccountSid}/Calls",
    "call_recordings": "/Accounts/{AccountSid}/Calls/{CallSid}/Recordings",
    "addresses": "/Accounts/{AccountSid}/Addresses",
    "applications": "/Accounts/{AccountSid}/Applications",
    "incoming_phone_numbers": "/Accounts/{AccountSid}/IncomingPhoneNumbers",
    "available_phone_number_countries": "/Accounts/{AccountSid}/AvailablePhoneNumbers",
    "available_phone_numbers": f"{_AVAILABLE}/Local",
    "available_phone_numbers_local": f"{_AVAILABLE}/Local",
    "available_phone_numbers_mobile": f"{_AVAILABLE}/Mobile",
    "available_phone_numbers_toll_free": f"{_AVAILABLE}/TollFree",
    "recordings": "/Accounts/{AccountSid}/Recordings",
    "transcriptions": "/Accounts/{AccountSid}/Transcriptions",
    "keys": KEYS,
    "conferences": "/Accounts/{AccountSid}/Conferences",
    "conference_recordings": "/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Recordings",
    "participants": "/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants",
    "queues": "/Accounts/{AccountSid}/Queues",
    "queue_members": "/Accounts/{AccountSid}/Queues/{QueueSid}/Members",
    "outgoing_caller_ids": "/Accounts/{AccountSid}/OutgoingCallerIds",
    "notifications": "/Accounts/{AccountSid}/Notifications",
    "usage_triggers": "/Accounts/{AccountSid}/Usage/Triggers",
}

# Defaults by the collection's last literal segment, for properties the schema leaves to the server.
_AVAILABLE_NUMBER = {"address_requirements": "none", "beta": False}
_FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "Messages": {"status": "queued", "direction": "outbound-api", "num_media": "0", "num_segments": "1"},
    "Calls": {"status": "queued", "direction": "outbound-api"},
    "Conferences": {"status": "init", "region": "us1"},
    "Participants": {
        "status": "queued",
        "muted": False,
        "hold": False,
        "coaching": False,
        "end_conference_on_exit": False,
        "start_conference_on_enter": True,
    },
    "Queues": {"current_size": 0, "max_size": 100, "average_wait_time": 0},
    "Members": {"position": 1, "wait_time": 0},
    "Accounts": {"status": "active", "type": "Full"},
    "IncomingPhoneNumbers": {
        "status": "in-use",
        "origin": "twilio",
        "beta": False,
        "address_requirements": "none",
        "emergency_status": "Inactive",
        "voice_receive_mode": "voice",
        "voice_caller_id_lookup": False,
    },
    "Recordings": {"status": "completed", "source": "OutboundAPI", "channels": 1, "duration": "0"},
    "Transcriptions": {"status": "completed"},
    "Addresses": {"validated": False, "verified": False, "emergency_enabled": False},
    "Balance": {"balance": "0.00", "currency": "USD"},
    **dict.fromkeys(
        ("Local", "Mobile", "TollFree", "National", "Voip", "SharedCost", "MachineToMachine"),
        _AVAILABLE_NUMBER,
    ),
}
_UNIVERSAL_DEFAULTS: dict[str, Any] = {"api_version": "2010-04-01", "price_unit": "USD"}
# Credentials and codes Twilio mints for a new resource.
_GENERATED = {
    "auth_token": lambda: secrets.token_hex(16),
    "secret": lambda: secrets.token_hex(16),
    "validation_code": lambda: f"{secrets.randbelow(1_000_000):06d}",
}
# Set by the server only: a form parameter may never overwrite them.
_SERVER_OWNED = frozenset({"sid", "account_sid", "uri", "date_created", "date_updated", "api_version"})
_CAPABILITIES = {"voice": True, "sms": True, "mms": True, "fax": False}


def now_rfc2822() -> str:
    """Twilio's date format: `Thu, 24 Aug 2023 05:01:45 +0000`."""
    return format_datetime(datetime.now(UTC).replace(microsecond=0))


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def sid_prefix(schema: Schema) -> str | None:
    """`^(SM|MM)[0-9a-fA-F]{32}$` -> `SM`; `^CA[0-9a-fA-F]{32}$` -> `CA`."""
    found = re.match(r"\^\(?([A-Z]{2})", schema.get("pattern", ""))
    return found.group(1) if found else None


def resolve_handle(handle: str) -> str:
    """A friendly handle, or a collection template such as `/Accounts/{AccountSid}/SIP/Domains`."""
    if handle in HANDLES:
        return HANDLES[handle]
    if handle.startswith("/"):
        return handle
    raise KeyError(f"unknown resource handle {handle!r}; use one of {sorted(HANDLES)} or a template")


class ResourceFactory:
    def __init__(self, spec: Spec) -> None:
        self._spec = spec

    def build(
        self,
        collection: Collection,
        scope: dict[str, str],
        fields: dict[str, Any],
        extra_schema: Schema | None = None,
    ) -> tuple[str, Resource]:
        """A complete resource: schema defaults, then parents from `scope`, then `fields`, then identity.

        `extra_schema` adds properties only a create answer carries (a new key's `secret`).
        """
        props = {**collection.properties, **(extra_schema or {}).get("properties", {})}
        family = _family(collection.name)
        resource: Resource = {name: self._default(name, schema) for name, schema in props.items()}
        resource.update({k: v for k, v in _FAMILY_DEFAULTS.get(family, {}).items() if k in props})
        for param, value in scope.items():
            prop = snake(param) if snake(param) in props else PARENT_PROPERTY_ALIASES.get(param)
            if prop is not None and prop in props:
                resource[prop] = value
        resource.update(fields)
        key = self._identify(collection, props, resource)
        if resource.get("friendly_name") is None and resource.get("phone_number"):
            resource["friendly_name"] = resource["phone_number"]
        if "uri" in props and collection.item_template and collection.id_param:
            resource["uri"] = collection.item_template.format(**scope, **{collection.id_param: key})
        if "subresource_uris" in props and collection.dependent:
            resource["subresource_uris"] = _subresource_uris(collection.dependent, resource)
        return key, resource

    def _default(self, name: str, schema: Schema) -> Any:
        schema = self._spec.deref(schema)
        if name in _UNIVERSAL_DEFAULTS:
            return _UNIVERSAL_DEFAULTS[name]
        if name in _GENERATED:
            return _GENERATED[name]()
        if name in ("date_created", "date_updated"):
            return now_rfc2822()
        if schema.get("format") == "http-method":
            return "POST"
        if schema.get("format") == "phone-number-capabilities":
            return dict(_CAPABILITIES)
        return None

    def _identify(self, collection: Collection, props: dict[str, Schema], resource: Resource) -> str:
        id_property = collection.id_property
        if id_property is None:
            return uuid.uuid4().hex  # e.g. Balance: nothing identifies it, and nothing looks it up
        if resource.get(id_property) is None:
            prefix = sid_prefix(self._spec.deref(props.get(id_property, {})))
            if prefix is None:
                raise ValueError(f"{collection.name} resources need a {id_property!r}")
            resource[id_property] = new_sid(prefix)
        return str(resource[id_property])

    def fields_from_form(self, form: Params, schema: Schema) -> dict[str, Any]:
        """`{"To": "+1..", "Muted": "true"}` -> `{"to": "+1..", "muted": True}`, for schema properties."""
        props: dict[str, Schema] = schema.get("properties", {})
        fields: dict[str, Any] = {}
        for name in form.names():
            prop = snake(name)
            if prop in props and prop not in _SERVER_OWNED:
                fields[prop] = _typed(self._spec.deref(props[prop]), form.getall(name))
        return fields


def project(resource: Resource, schema: Schema) -> Resource:
    """The resource as an operation answers it: exactly the properties its response schema declares."""
    props = schema.get("properties")
    if not props:
        return resource
    return {name: resource.get(name) for name in props}


def _family(collection_name: str) -> str:
    literals = [segment for segment in collection_name.split("/") if segment and "{" not in segment]
    return literals[-1] if literals else ""


def _typed(schema: Schema, values: list[str]) -> Any:
    kind = schema.get("type")
    if kind == "array":
        return values
    value = values[0]
    if value == "" and kind in ("boolean", "integer", "number"):
        return None
    if kind == "boolean":
        return value.lower() == "true"
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    return value


def _subresource_uris(dependent: dict[str, Any], resource: Resource) -> dict[str, str]:
    uris = {}
    for name, spec in dependent.items():
        values = {var: resource.get(prop) for var, prop in spec.get("mapping", {}).items()}
        if all(value is not None for value in values.values()):
            uris[name] = spec["resource_url"].format(**values)
    return uris
