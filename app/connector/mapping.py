"""Selectors and mapping: pick values out of a payload by walking keys, and shape them by field type."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from app.connector.schema import FieldDef, FieldType

MISSING: Any = None  # a selector that finds nothing yields null, as the contract says


def select(payload: Any, selector: Sequence[str | int]) -> Any:
    """Walk ``selector`` into ``payload``: keys into mappings, integer positions into lists."""
    current = payload
    for step in selector:
        if isinstance(current, Mapping):
            current = current.get(step, MISSING) if isinstance(step, str) else current.get(str(step), MISSING)
        elif isinstance(current, list) and isinstance(step, int) and -len(current) <= step < len(current):
            current = current[step]
        else:
            return MISSING
        if current is MISSING:
            return MISSING
    return current


def coerce(value: Any, field_type: FieldType) -> Any:
    """Twilio sends every webhook value as text; give typed fields their type when the text allows it.

    A value that does not parse is kept as received rather than dropped: mapping never loses data.
    """
    if not isinstance(value, str):
        return value
    try:
        match field_type:
            case FieldType.INTEGER:
                return int(value)
            case FieldType.NUMBER:
                return float(value)
            case FieldType.BOOLEAN:
                lowered = value.lower()
                return {"true": True, "false": False}.get(lowered, value)
            case FieldType.OBJECT | FieldType.ARRAY:
                return json.loads(value)
    except ValueError:
        return value
    return value


def map_fields(payload: Any, fields: Iterable[FieldDef]) -> dict[str, Any]:
    return {field.name: coerce(select(payload, field.selector), field.type) for field in fields}


Mapper = Callable[[Mapping[str, Any]], dict[str, Any]]


def compile_fields(fields: Iterable[FieldDef]) -> Mapper:
    """``map_fields`` for one field list, prepared once: the webhook hot path maps every request.

    Twilio's webhook fields are nearly all one top-level key of text, so those become a plain
    ``dict.get`` and skip ``coerce``; anything else walks its selector as ``map_fields`` does.
    """
    plan = [
        (
            field.name,
            field.selector[0] if len(field.selector) == 1 and isinstance(field.selector[0], str) else None,
            tuple(field.selector),
            None if field.type is FieldType.STRING else field.type,
        )
        for field in fields
    ]

    def mapper(payload: Mapping[str, Any]) -> dict[str, Any]:
        mapped = {}
        for name, key, selector, field_type in plan:
            value = payload.get(key) if key is not None else select(payload, selector)
            mapped[name] = value if field_type is None or value is None else coerce(value, field_type)
        return mapped

    return mapper


def dedupe_key(payload: Mapping[str, Any], selectors: Sequence[Sequence[str | int]]) -> str:
    """The event's identity: its dedupe selectors' values joined, or a hash of every parameter.

    Without declared selectors, an identical retry still has identical parameters, so the hash of the
    canonical parameter list identifies it.
    """
    if selectors:
        parts = [select(payload, selector) for selector in selectors]
        if all(part is not None for part in parts):
            key = "\x1f".join(p if isinstance(p, str) else json.dumps(p, sort_keys=True) for p in parts)
            # Long keys are hashed so the unique index stays small on both stores.
            return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
