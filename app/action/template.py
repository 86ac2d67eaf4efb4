"""Rendering one operation of a definition into one concrete request: path, query and form pairs (pure).

The rules (documented for definition authors in ``connectors/README.md``):

- ``{{AccountSid}}`` / ``{{AuthToken}}`` come from the configured credentials, never from the caller;
- every other placeholder comes from the caller's values, by placeholder name; a name the operation does
  not declare is refused, so a typo is a 422 rather than a silently dropped parameter;
- a path placeholder is required and percent-encoded (a value cannot add path segments);
- a parameter whose placeholder is absent or ``null`` is not sent; an ``Array`` placeholder repeats its
  key once per item (``MediaUrl=a&MediaUrl=b``); booleans go as ``true``/``false``;
- ``required`` placeholders and ``oneOf`` groups are enforced here, before anything is sent.

All problems of one request are reported together, in one ``Unprocessable``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from app.connector.schema import (
    CREDENTIAL_PLACEHOLDERS,
    PLACEHOLDER,
    OperationDef,
    ParamsTemplate,
    PlaceholderDef,
    PlaceholderType,
    TemplateString,
)
from app.errors import Unprocessable

Pairs = tuple[tuple[str, str], ...]
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True, slots=True)
class RenderedRequest:
    """One request, ready to send: ``path`` is below the service's base URL, already percent-encoded."""

    method: str
    path: str
    query: Pairs
    form: Pairs
    headers: Pairs = ()


class _Problems:
    """Collects every problem of one request, so the caller can fix them all at once."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_any(self, operation: str) -> None:
        if self.items:
            raise Unprocessable(f"{operation}: {'; '.join(self.items)}")


def declared_names(op: OperationDef) -> list[str]:
    """Every placeholder a caller may give this operation, in definition order (path first)."""
    names = [p.name for p in op.path.placeholders]
    declarations = [p for header in op.headers.values() for p in header.placeholders]
    for template in (op.query_params, op.body_template):
        if template is not None:
            declarations.extend(template.placeholders)
    names.extend(p.name for p in declarations if p.name not in names)
    return names


def render(
    op: OperationDef, values: Mapping[str, Any], credentials: Mapping[str, str], *, operation: str
) -> RenderedRequest:
    """The request ``op`` makes with ``values``; raises Unprocessable naming every problem.

    ``operation`` names the operation in messages (``messages.create``).
    """
    problems = _Problems()
    known = set(declared_names(op))
    unknown = sorted(name for name in values if name not in known)
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        problems.add(f"unknown parameter(s) {', '.join(map(repr, unknown))} (this operation takes: {listed})")
    path = _render_path(op.path, values, credentials, problems)
    query = _render_params(op.query_params, values, credentials, problems)
    form = _render_params(op.body_template, values, credentials, problems)
    headers = []
    for name, header in op.headers.items():
        text = _render_mixed(
            header.value, {p.name: p for p in header.placeholders}, values, credentials, problems
        )
        if text is not None:
            headers.append((name, text))
    problems.raise_any(operation)
    return RenderedRequest(op.method, path, query, form, tuple(headers))


def render_text(template: TemplateString, credentials: Mapping[str, str]) -> str:
    """A template that may only use credential placeholders (base URL, headers, auth)."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in credentials:
            raise ValueError(f"placeholder {name!r} in {template.value!r} has no configured value")
        return credentials[name]

    return PLACEHOLDER.sub(fill, template.value)


def _given(value: Any) -> bool:
    """Whether a value counts as given for ``required`` and ``oneOf``: not null, not blank, and for a
    list, one item given. Twilio ignores a blank parameter (``MediaUrl=``), so it cannot count."""
    if isinstance(value, list | tuple):
        return any(_given(item) for item in value)
    return value is not None and value != ""


def _lookup(placeholder: PlaceholderDef | None, name: str, values: Mapping[str, Any]) -> Any:
    value = values.get(name)
    if value is None and placeholder is not None:
        value = placeholder.default
    return value


def _render_path(
    template: TemplateString, values: Mapping[str, Any], credentials: Mapping[str, str], problems: _Problems
) -> str:
    declared = {p.name: p for p in template.placeholders}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in CREDENTIAL_PLACEHOLDERS:
            return quote(_credential(name, credentials, problems), safe="")
        value = _lookup(declared.get(name), name, values)
        if not _given(value):
            problems.add(f"{name!r} is required (a path parameter)")
            return ""
        text = _scalar(declared.get(name), name, value, problems)
        if text is None:
            return ""
        if text in (".", ".."):
            # A dot segment would be resolved away by the URL, silently calling another resource.
            problems.add(f"{name!r} cannot be {text!r}")
            return ""
        # Fully percent-encoded: a `/` or `?` in a SID cannot reach another path or add parameters.
        return quote(text, safe="")

    return PLACEHOLDER.sub(fill, template.value)


def _render_params(
    template: ParamsTemplate | None,
    values: Mapping[str, Any],
    credentials: Mapping[str, str],
    problems: _Problems,
) -> Pairs:
    if template is None:
        return ()
    declared = {p.name: p for p in template.placeholders}
    for declaration in template.placeholders:
        if declaration.required and not _given(_lookup(declaration, declaration.name, values)):
            problems.add(f"{declaration.name!r} is required")
    for group in template.one_of:
        if not any(_given(_lookup(declared.get(name), name, values)) for name in group):
            problems.add(f"give one of {', '.join(map(repr, group))}")

    pairs: list[tuple[str, str]] = []
    for key, text in template.value.items():
        whole = PLACEHOLDER.fullmatch(text.strip())
        if whole is not None and whole.group(1) not in CREDENTIAL_PLACEHOLDERS:
            name = whole.group(1)
            placeholder = declared.get(name)
            value = _lookup(placeholder, name, values)
            if value is None:
                continue  # absent or null: the parameter is not sent at all
            if placeholder is not None and placeholder.type is PlaceholderType.ARRAY:
                pairs.extend((key, item) for item in _array(name, value, problems))
            else:
                scalar = _scalar(placeholder, name, value, problems)
                if scalar is not None:
                    pairs.append((key, scalar))
            continue
        mixed = _render_mixed(text, declared, values, credentials, problems)
        if mixed is not None:
            pairs.append((key, mixed))
    return tuple(pairs)


def _render_mixed(
    text: str,
    declared: Mapping[str, PlaceholderDef],
    values: Mapping[str, Any],
    credentials: Mapping[str, str],
    problems: _Problems,
) -> str | None:
    """A literal, or text around placeholders; ``None`` (not sent) if any placeholder in it is absent."""
    parts: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(text):
        parts.append(text[position : match.start()])
        position = match.end()
        name = match.group(1)
        if name in CREDENTIAL_PLACEHOLDERS:
            parts.append(_credential(name, credentials, problems))
            continue
        value = _lookup(declared.get(name), name, values)
        if value is None:
            return None
        if isinstance(value, list | tuple):
            problems.add(f"{name!r} is a list, but its parameter takes one value")
            return None
        scalar = _scalar(declared.get(name), name, value, problems)
        if scalar is None:
            return None
        parts.append(scalar)
    parts.append(text[position:])
    return "".join(parts)


def _credential(name: str, credentials: Mapping[str, str], problems: _Problems) -> str:
    # Only the credentials handed in are available: the engine hands in the account SID, never the
    # auth token, so no definition can put the token into a URL or a body.
    if name not in credentials:
        problems.add(f"the definition uses {{{{{name}}}}} where it is not available")
        return ""
    return credentials[name]


def _array(name: str, value: Any, problems: _Problems) -> list[str]:
    items: Sequence[Any] = value if isinstance(value, list | tuple) else [value]
    rendered = []
    for item in items:
        if isinstance(item, dict | list | tuple) or item is None:
            problems.add(f"{name!r} must be a list of strings")
            return []
        rendered.append(_format_string(item))
    return rendered


def _scalar(placeholder: PlaceholderDef | None, name: str, value: Any, problems: _Problems) -> str | None:
    """``value`` as Twilio's wire text for the placeholder's type, or None after recording a problem."""
    kind = placeholder.type if placeholder is not None else PlaceholderType.STRING
    if isinstance(value, list | tuple | dict):
        problems.add(f"{name!r} takes one value, not a list or an object")
        return None
    match kind:
        case PlaceholderType.BOOLEAN:
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower()
            problems.add(f"{name!r} must be a boolean (true or false)")
        case PlaceholderType.INTEGER:
            if isinstance(value, int) and not isinstance(value, bool):
                return str(value)
            if isinstance(value, float) and value.is_integer():
                return str(int(value))
            if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
                return value.strip()
            problems.add(f"{name!r} must be an integer")
        case PlaceholderType.NUMBER:
            number = _number(value)
            if number is not None:
                return number
            problems.add(f"{name!r} must be a number")
        case _:  # String (and Array items)
            if isinstance(value, bool):
                problems.add(f"{name!r} must be a string")
                return None
            return _format_string(value)
    return None


def _number(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            return value.strip() if math.isfinite(float(value)) else None
        except ValueError:
            return None
    return None


def _format_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
