"""List answers: filtering by query parameters and Twilio's page envelope.

Owns: which query parameters filter which property (equality by default; wildcard phone-number matching
and the AvailablePhoneNumbers search parameters specially), and paging with `PageSize` (default 50),
`Page` and opaque `PageToken`s. `next_page_uri` is relative and carries `PageSize`, `Page` and
`PageToken` like Twilio's, so a client following it never builds pages itself. Lists keep insertion
order: Twilio's order differs per resource and a client must not depend on it.
"""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from .errors import bad_request
from .params import Params
from .resources import project
from .spec import Operation, Schema, snake
from .state import Resource

DEFAULT_PAGE_SIZE = 50
PAGING_PARAMS = frozenset({"PageSize", "Page", "PageToken"})
_NEXT, _PREVIOUS = "PA", "PB"

Matcher = Callable[[Resource, str], bool]


def _wildcard(prop: str) -> Matcher:
    """Partial match where `*` stands for any one digit (Twilio's PhoneNumber and Contains filters)."""

    def matches(resource: Resource, value: str) -> bool:
        pattern = re.escape(value).replace(r"\*", r"\d")
        return re.search(pattern, str(resource.get(prop) or "")) is not None

    return matches


def _capability(name: str) -> Matcher:
    def matches(resource: Resource, value: str) -> bool:
        return bool((resource.get("capabilities") or {}).get(name)) == (value.lower() == "true")

    return matches


def _equals(prop: str) -> Matcher:
    return lambda resource, value: str(resource.get(prop)) == value


def _area_code(resource: Resource, value: str) -> bool:
    number = str(resource.get("phone_number") or "")
    return number.removeprefix("+1").startswith(value)


_SPECIAL: dict[str, Matcher] = {
    "PhoneNumber": _wildcard("phone_number"),
    "Contains": _wildcard("phone_number"),
    "AreaCode": _area_code,
    "SmsEnabled": _capability("sms"),
    "MmsEnabled": _capability("mms"),
    "VoiceEnabled": _capability("voice"),
    "FaxEnabled": _capability("fax"),
    "InRegion": _equals("region"),
    "InPostalCode": _equals("postal_code"),
    "InLocality": _equals("locality"),
    "InRateCenter": _equals("rate_center"),
    "InLata": _equals("lata"),
}


def select(items: list[tuple[str, Resource]], op: Operation, query: Params) -> list[tuple[str, Resource]]:
    """The items every filtering query parameter accepts; date ranges and search hints are ignored."""
    props: dict[str, Schema] = op.item_schema.get("properties", {})
    for name, value in query:
        if name in PAGING_PARAMS:
            continue
        matcher = _SPECIAL.get(name) or _generic(name, op, props)
        if matcher is not None:
            items = [(key, resource) for key, resource in items if matcher(resource, value)]
    return items


def _generic(name: str, op: Operation, props: dict[str, Schema]) -> Matcher | None:
    param = op.query_params.get(name)
    prop = snake(name)
    if param is None or prop not in props or param.schema.get("format") in ("date", "date-time"):
        return None
    if param.schema.get("type") == "boolean":
        return lambda resource, value: bool(resource.get(prop)) == (value.lower() == "true")
    return _equals(prop)


def page(items: list[tuple[str, Resource]], op: Operation, path: str, query: Params) -> dict[str, Any]:
    """One page of `items` in Twilio's list envelope, keyed by the spec's list property (`messages`)."""
    size = int(query.get("PageSize") or DEFAULT_PAGE_SIZE)
    number = int(query.get("Page") or 0)
    token = query.get("PageToken")
    start = _start(items, size, number, token)
    chunk = items[start : start + size]
    filters = [(k, v) for k, v in query if k not in PAGING_PARAMS]

    def uri(page_number: int, page_token: str | None = None) -> str:
        params: list[tuple[str, Any]] = [*filters, ("PageSize", size), ("Page", page_number)]
        if page_token:
            params.append(("PageToken", page_token))
        return f"{path}?{urlencode(params)}"

    has_next = bool(chunk) and start + size < len(items)
    has_previous = bool(chunk) and start > 0
    envelope: dict[str, Any] = {
        "uri": uri(number, token),
        "first_page_uri": uri(0),
        "next_page_uri": uri(number + 1, _NEXT + chunk[-1][0]) if has_next else None,
        "previous_page_uri": uri(max(number - 1, 0), _PREVIOUS + chunk[0][0]) if has_previous else None,
        "page": number,
        "page_size": size,
        "start": start,
        "end": start + max(len(chunk) - 1, 0),
        op.list_key or "items": [project(resource, op.item_schema) for _, resource in chunk],
    }
    # Some lists (AvailablePhoneNumbers countries) declare only `uri` and the array: answer what they declare.
    declared = op.response_schema.get("properties")
    return {k: v for k, v in envelope.items() if k in declared} if declared else envelope


def _start(items: list[tuple[str, Resource]], size: int, number: int, token: str | None) -> int:
    if not token:
        return number * size
    direction, anchor = token[:2], token[2:]
    keys = [key for key, _ in items]
    if direction not in (_NEXT, _PREVIOUS) or anchor not in keys:
        raise bad_request(f"Invalid PageToken {token!r}")
    index = keys.index(anchor)
    return index + 1 if direction == _NEXT else max(index - size, 0)
