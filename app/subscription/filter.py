"""Subscription filters: a small JSON query language, compiled once and matched against event envelopes.

A filter is a JSON object whose keys are *paths* into the envelope (contract section 4) or combinators::

    {"type": "messages/message_received",
     "data.body": {"$startsWith": "STOP"},
     "$or": [{"raw.NumMedia": {"$gt": 0}}, {"data.body": {"$contains": "photo"}}]}

It looks like MongoDB's query language but is smaller and stricter: every construct that Mongo resolves
by guessing (implicit array traversal, a bare object meaning exact document equality) is either absent
or rejected with a message saying what to write instead.

Filters and combinators
    - The keys of one object are ANDed. ``{}`` and ``None`` match every envelope.
    - ``$and`` / ``$or`` take a non-empty list of filters; ``$not`` takes one filter and inverts it, so
      ``{"$not": {"data.body": "x"}}`` also matches an envelope that has no ``data.body``.
    - They may appear wherever a filter may (the top, or inside another combinator), not inside an
      operator object. Filters nest at most ``MAX_DEPTH`` levels; the top level is level 1.

Paths
    - Dotted: each segment is a key of an object. On a list, a segment written as a canonical non-negative
      integer (``0``, ``12``; not ``-1`` or ``01``) indexes it: ``data.media_urls.0``.
    - Anything else (an absent key, an index out of range, a step into a string, number or null) makes
      the value *missing*. Missing is not null.
    - Lists are never traversed implicitly (Mongo's ``{"tags": "x"}`` on an array): use ``$contains``.
    - Segments may not be empty or start with ``$``; a key that itself contains a dot is unreachable.

Values
    - A bare scalar (string, number, boolean, null) means ``$eq``.
    - A bare list or a plain object is rejected: a list could mean "any of" or "exactly this list", and
      ``{"data": {"body": "x"}}`` could mean a nested path or a whole-object match. Write ``$in``, a
      dotted path, or ``$eq`` with the list or object.
    - An operator object holds one or more operators (all keys start with ``$``); they are ANDed and
      all apply to the same value: ``{"$gte": 1, "$lt": 5}``.

Comparison: the operand's JSON type decides how a value is compared
    - Number: matches a JSON number, or a string that is *exactly* a JSON number (``"2"``, ``"-0.00750"``,
      ``"1e3"``; not ``" 2"``, ``"02"``, ``"+2"``, ``"2."``, ``"0x1F"``, ``"NaN"``), by numeric value.
      Twilio sends every parameter as a string, so ``{"raw.NumMedia": 2}`` and
      ``{"raw.NumMedia": {"$gt": 0}}`` do what they say.
    - String: matches only strings. Equality is exact (case-sensitive, no Unicode normalisation);
      ordering is by code point, so ISO-8601 timestamps in one format order chronologically but
      ``"10" < "9"`` (write the operand as a number to compare numerically). A string operand never
      matches a number: ``{"data.count": "2"}`` does not match ``2``.
    - Boolean: matches only ``true``/``false``, never ``1``/``0`` nor the strings ``"true"``/``"false"``;
      for a Twilio flag sent as a string, write the string.
    - Null: matches only null, not a missing value (use ``$exists`` for that).
    - Object or list (only as the operand of ``$eq``/``$neq``): exact structural JSON equality, without
      the string/number coercion above; ``1`` equals ``1.0`` but never ``true``, key order is ignored,
      list order is not.
    - A value of any other kind (a Python object that JSON cannot hold) matches nothing but ``$neq``,
      ``$nin`` and ``$exists: true``.

Operators (``v`` is the value at the path)
    ===================  =======================================================================
    ``$eq x``            ``v`` equals ``x`` per the rules above
    ``$neq x``           not ``$eq x``: true when ``v`` is missing
    ``$in [x, …]``       ``v`` equals one of the items (non-empty; strings, numbers, booleans, null)
    ``$nin [x, …]``      not ``$in``: true when ``v`` is missing
    ``$startsWith s``    ``v`` is a string starting with ``s`` (``""`` matches every string)
    ``$endsWith s``      ``v`` is a string ending with ``s``
    ``$contains x``      ``v`` is a string and ``x`` a substring of it, or ``v`` is a list with an
                         item that equals ``x`` (``x``: string, number, boolean or null)
    ``$exists b``        ``true``: ``v`` is present (null counts); ``false``: ``v`` is missing
    ``$gt $gte $lt $lte``  ``x`` a number or a string, compared as above; otherwise no match
    ===================  =======================================================================

    On a missing value only ``$neq``, ``$nin`` and ``$exists: false`` match (and ``$not`` around anything).

Errors and limits
    :func:`parse_filter` validates everything up front and raises :class:`FilterError` (a ``ValueError``,
    so a Pydantic validator turns it into a 422) with ``path``, the place in the filter
    (``$or[1].data.body.$in``; ``""`` is the filter itself), and ``message``. Limits keep the hot path
    cheap: ``MAX_DEPTH`` nested filters, ``MAX_CONDITIONS`` conditions (one operator on one path; a bare
    value is one), ``MAX_ITEMS`` items in an ``$in``/``$nin`` list or values in an ``$eq``/``$neq`` literal.
    :meth:`Filter.matches` never raises: a condition that cannot be evaluated is false.

Parsing compiles the filter into closures, so matching an envelope (on the webhook path, once per
subscription) never looks at the filter's JSON again.
"""

from __future__ import annotations

import copy
import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeGuard

__all__ = [
    "COMBINATORS",
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "OPERATORS",
    "Filter",
    "FilterError",
    "parse_filter",
]

MAX_DEPTH: Final = 8
MAX_CONDITIONS: Final = 100
MAX_ITEMS: Final = 1000

COMBINATORS: Final = frozenset({"$and", "$or", "$not"})

# A test looks at the value found at a path (or _MISSING); a match looks at the whole envelope.
_Test = Callable[[Any], bool]
_Match = Callable[[Any], bool]
_Number = int | float


class FilterError(ValueError):
    """An invalid filter: ``path`` locates the problem inside the filter, ``message`` says what it is."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


# Distinct from None: a JSON null is a value that exists.
_MISSING: Final = _Missing()

# The JSON number grammar (RFC 8259), ASCII digits only. Python's int()/float() also accept " 2", "1_0",
# "NaN", "inf" and non-ASCII digits; none of those should turn a Twilio string into a number.
_JSON_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_CANONICAL_INDEX: Final = re.compile(r"0|[1-9][0-9]*")


def _is_number(value: object) -> TypeGuard[int | float]:
    # bool is an int subclass, but JSON true is not the number 1.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_from_string(text: str) -> _Number | None:
    """The numeric value of a string that is exactly a JSON number, else None."""
    # Fast path for the common case (NumMedia "2", NumSegments "1"): it skips the regex, which costs
    # several times more on the webhook path. isdigit() alone would accept non-ASCII digits.
    if text.isdigit() and text.isascii():
        if text[0] == "0" and len(text) > 1:
            return None
        try:
            return int(text)
        except ValueError:
            return float(text)
    found = _JSON_NUMBER.fullmatch(text)
    if found is None:
        return None
    if found.group(1) is None and found.group(2) is None:
        try:
            # Integers stay exact: "12345678901234567891" must not round to a float.
            return int(text)
        except ValueError:
            # Beyond Python's int-from-string digit limit; a float (inf) still orders correctly.
            return float(text)
    return float(text)


def _as_number(value: object) -> _Number | None:
    if isinstance(value, str):
        return _number_from_string(value)
    if _is_number(value):
        return value
    return None


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | bool) or _is_number(value)


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _item(where: str, index: int) -> str:
    return f"{where}[{index}]"


# ---------------------------------------------------------------------------------------------------------
# Tests on one value


def _json_equal(value: Any, literal: Any) -> bool:
    """Structural JSON equality of an envelope value with a validated literal (no string/number coercion)."""
    if literal is None:
        return value is None
    if isinstance(literal, bool):
        return value is literal
    if isinstance(literal, str):
        return isinstance(value, str) and value == literal
    if isinstance(literal, list):
        return (
            isinstance(value, list | tuple)
            and len(value) == len(literal)
            and all(_json_equal(item, expected) for item, expected in zip(value, literal, strict=True))
        )
    if isinstance(literal, dict):
        return (
            isinstance(value, Mapping)
            and len(value) == len(literal)
            and all(key in value and _json_equal(value[key], expected) for key, expected in literal.items())
        )
    return _is_number(value) and value == literal


def _equals(operand: Any) -> _Test:
    """Equality with a validated literal; the operand's type picks the comparison (module docstring)."""
    if operand is None:
        return lambda value: value is None
    if isinstance(operand, bool):
        return lambda value: value is operand
    if isinstance(operand, str):
        return lambda value: isinstance(value, str) and value == operand
    if _is_number(operand):

        def equals_number(value: Any) -> bool:
            number = _as_number(value)
            return number is not None and number == operand

        return equals_number
    return lambda value: _json_equal(value, operand)


def _negate(test: _Test) -> _Test:
    return lambda value: not test(value)


def _member_of(items: list[Any]) -> _Test:
    """``$in``: sets built once, so a long list of phone numbers costs one lookup per match."""
    strings = frozenset(item for item in items if isinstance(item, str))
    numbers = frozenset(item for item in items if _is_number(item))
    # Kept apart from `numbers`: True == 1 and hash(True) == hash(1), so one set would confuse them.
    booleans = frozenset(item for item in items if isinstance(item, bool))
    has_null = any(item is None for item in items)

    def test(value: Any) -> bool:
        if isinstance(value, str):
            if value in strings:
                return True
            if not numbers:
                return False
            number = _number_from_string(value)
            return number is not None and number in numbers
        if isinstance(value, bool):
            return value in booleans
        if _is_number(value):
            return value in numbers
        return value is None and has_null

    return test


def _ordering(compare: Callable[[Any, Any], bool], operand: _Number | str) -> _Test:
    if isinstance(operand, str):
        return lambda value: isinstance(value, str) and compare(value, operand)

    def test(value: Any) -> bool:
        number = _as_number(value)
        return number is not None and compare(number, operand)

    return test


def _containing(operand: Any) -> _Test:
    equals = _equals(operand)
    substring = operand if isinstance(operand, str) else None

    def test(value: Any) -> bool:
        if isinstance(value, str):
            return substring is not None and substring in value
        if isinstance(value, list | tuple):
            return any(equals(item) for item in value)
        return False

    return test


# ---------------------------------------------------------------------------------------------------------
# Matches on the envelope


def _resolver(segments: tuple[str, ...]) -> Callable[[Any], Any]:
    # Precompute which segments can index a list, so resolving does no parsing.
    steps = tuple(
        (segment, int(segment) if _CANONICAL_INDEX.fullmatch(segment) else None) for segment in segments
    )

    def resolve(root: Any) -> Any:
        current = root
        for key, index in steps:
            # The exact-type check first: isinstance() against an ABC costs several times more.
            if type(current) is dict or isinstance(current, Mapping):
                current = current.get(key, _MISSING)
                if current is _MISSING:
                    return _MISSING
            elif index is not None and isinstance(current, list | tuple) and index < len(current):
                current = current[index]
            else:
                return _MISSING
        return current

    return resolve


def _condition(resolve: Callable[[Any], Any], tests: tuple[_Test, ...]) -> _Match:
    # The try is free in CPython 3.11 unless something raises. Envelopes are JSON-shaped, but a Mapping
    # subclass or a value with a hostile __eq__ must cost one false condition, not a failed delivery.
    if len(tests) == 1:
        (test,) = tests

        def match_one(envelope: Any) -> bool:
            try:
                return test(resolve(envelope))
            except Exception:
                return False

        return match_one

    def match_all(envelope: Any) -> bool:
        try:
            value = resolve(envelope)
            return all(test(value) for test in tests)
        except Exception:
            return False

    return match_all


def _always(envelope: Any) -> bool:
    return True


def _never(envelope: Any) -> bool:
    return False


# Constant sub-filters ({} and {"$not": {}}) are folded away so they cost nothing when matching.


def _all_of(matches: list[_Match]) -> _Match:
    if _never in matches:
        return _never
    kept = tuple(match for match in matches if match is not _always)
    if not kept:
        return _always
    if len(kept) == 1:
        return kept[0]
    return lambda envelope: all(match(envelope) for match in kept)


def _any_of(matches: list[_Match]) -> _Match:
    if _always in matches:
        return _always
    kept = tuple(match for match in matches if match is not _never)
    if not kept:
        return _never
    if len(kept) == 1:
        return kept[0]
    return lambda envelope: any(match(envelope) for match in kept)


def _not(match: _Match) -> _Match:
    if match is _always:
        return _never
    if match is _never:
        return _always
    return lambda envelope: not match(envelope)


# ---------------------------------------------------------------------------------------------------------
# Parsing


class _Parser:
    """One parse: validates the filter JSON and builds its closures, counting conditions as it goes."""

    def __init__(self) -> None:
        self._conditions = 0

    def filter(self, obj: Any, where: str, depth: int) -> _Match:
        if not isinstance(obj, dict):
            raise FilterError(where, f"a filter must be a JSON object, not {_json_type(obj)}")
        if depth > MAX_DEPTH:
            raise FilterError(where, f"filters may nest at most {MAX_DEPTH} levels deep")
        parts: list[_Match] = []
        for key, value in obj.items():
            if not isinstance(key, str):
                raise FilterError(where, f"keys must be strings, not {_json_type(key)}")
            at = _at(where, key)
            if key in ("$and", "$or"):
                parts.append(self._combination(key, value, at, depth))
            elif key == "$not":
                if not isinstance(value, dict):
                    raise FilterError(at, f"'$not' takes a filter (a JSON object), not {_json_type(value)}")
                parts.append(_not(self.filter(value, at, depth + 1)))
            elif key in OPERATORS:
                raise FilterError(at, f'\'{key}\' needs a path: write {{"data.body": {{"{key}": …}}}}')
            elif key.startswith("$"):
                raise FilterError(at, f"unknown combinator '{key}'; expected $and, $or or $not")
            else:
                parts.append(self._path_condition(key, value, at))
        return _all_of(parts)

    def _combination(self, name: str, value: Any, where: str, depth: int) -> _Match:
        if not isinstance(value, list) or not value:
            raise FilterError(where, f"'{name}' takes a non-empty list of filters, not {_json_type(value)}")
        parts: list[_Match] = []
        for index, item in enumerate(value):
            at = _item(where, index)
            if not isinstance(item, dict):
                raise FilterError(
                    at, f"each '{name}' item must be a filter (a JSON object), not {_json_type(item)}"
                )
            parts.append(self.filter(item, at, depth + 1))
        return _all_of(parts) if name == "$and" else _any_of(parts)

    def _path_condition(self, path: str, value: Any, where: str) -> _Match:
        resolve = _resolver(_segments(path, where))
        if isinstance(value, list):
            raise FilterError(
                where,
                'a list is ambiguous here: use {"$in": […]} to match any of its items '
                'or {"$eq": […]} to match the whole list',
            )
        if not isinstance(value, dict):
            if not _is_scalar(value):
                raise FilterError(
                    where, f"expected a string, number, boolean or null, not {_json_type(value)}"
                )
            self._count(where)
            return _condition(resolve, (_equals(_literal(value, where)),))
        if not value:
            raise FilterError(where, "an empty object: give at least one operator such as '$eq'")
        operators = [key for key in value if isinstance(key, str) and key.startswith("$")]
        if not operators:
            raise FilterError(
                where,
                "an object here must hold operators such as '$eq': to reach a nested field write a dotted "
                "path like 'data.body'; to match a whole object write {\"$eq\": {…}}",
            )
        if len(operators) != len(value):
            plain = next(key for key in value if key not in operators)
            raise FilterError(where, f"mixes operators ('{operators[0]}') with a plain key ({plain!r})")
        tests: list[_Test] = []
        for name, operand in value.items():
            at = _at(where, name)
            build = _BUILDERS.get(name)
            if build is None:
                if name in COMBINATORS:
                    raise FilterError(
                        at,
                        f"'{name}' combines filters, not operators: write "
                        f'{{"{name}": [{{"{path}": …}}, …]}} around the conditions',
                    )
                raise FilterError(
                    at, f"unknown operator '{name}'; expected one of {', '.join(sorted(OPERATORS))}"
                )
            self._count(at)
            tests.append(build(name, operand, at))
        return _condition(resolve, tuple(tests))

    def _count(self, where: str) -> None:
        self._conditions += 1
        if self._conditions > MAX_CONDITIONS:
            raise FilterError(where, f"a filter may hold at most {MAX_CONDITIONS} conditions")


# ---------------------------------------------------------------------------------------------------------
# One builder per operator: validate the operand (named `name`, found at `where`) and return the test.


def _eq(name: str, operand: Any, where: str) -> _Test:
    return _equals(_literal(operand, where))


def _neq(name: str, operand: Any, where: str) -> _Test:
    return _negate(_eq(name, operand, where))


def _in(name: str, operand: Any, where: str) -> _Test:
    if not isinstance(operand, list) or not operand:
        raise FilterError(where, f"'{name}' takes a non-empty list, not {_json_type(operand)}")
    if len(operand) > MAX_ITEMS:
        raise FilterError(where, f"'{name}' takes at most {MAX_ITEMS} items")
    items = []
    for index, item in enumerate(operand):
        at = _item(where, index)
        if not _is_scalar(item):
            raise FilterError(
                at, f"'{name}' items must be strings, numbers, booleans or null, not {_json_type(item)}"
            )
        items.append(_literal(item, at))
    return _member_of(items)


def _nin(name: str, operand: Any, where: str) -> _Test:
    return _negate(_in(name, operand, where))


def _string_operand(name: str, operand: Any, where: str) -> str:
    if not isinstance(operand, str):
        raise FilterError(where, f"'{name}' takes a string, not {_json_type(operand)}")
    return operand


def _starts_with(name: str, operand: Any, where: str) -> _Test:
    prefix = _string_operand(name, operand, where)
    return lambda value: isinstance(value, str) and value.startswith(prefix)


def _ends_with(name: str, operand: Any, where: str) -> _Test:
    suffix = _string_operand(name, operand, where)
    return lambda value: isinstance(value, str) and value.endswith(suffix)


def _contains(name: str, operand: Any, where: str) -> _Test:
    if not _is_scalar(operand):
        raise FilterError(
            where, f"'{name}' takes a string, number, boolean or null, not {_json_type(operand)}"
        )
    return _containing(_literal(operand, where))


def _exists(name: str, operand: Any, where: str) -> _Test:
    if not isinstance(operand, bool):
        raise FilterError(where, f"'{name}' takes true or false, not {_json_type(operand)}")
    if operand:
        return lambda value: value is not _MISSING
    return lambda value: value is _MISSING


_ORDERINGS: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}


def _order(name: str, operand: Any, where: str) -> _Test:
    if not (isinstance(operand, str) or _is_number(operand)):
        raise FilterError(where, f"'{name}' takes a number or a string, not {_json_type(operand)}")
    return _ordering(_ORDERINGS[name], _literal(operand, where))


_BUILDERS: Final[Mapping[str, Callable[[str, Any, str], _Test]]] = {
    "$eq": _eq,
    "$neq": _neq,
    "$in": _in,
    "$nin": _nin,
    "$startsWith": _starts_with,
    "$endsWith": _ends_with,
    "$contains": _contains,
    "$exists": _exists,
    **dict.fromkeys(_ORDERINGS, _order),
}

OPERATORS: Final = frozenset(_BUILDERS)


def _segments(path: str, where: str) -> tuple[str, ...]:
    segments = tuple(path.split("."))
    for segment in segments:
        if not segment:
            raise FilterError(where, f"empty segment in path {path!r}")
        if segment.startswith("$"):
            raise FilterError(where, f"path segment {segment!r} may not start with '$'")
    return segments


def _literal(value: Any, where: str) -> Any:
    """A validated copy of a JSON literal, so later changes to the caller's dict cannot alter the filter."""
    return _copy_json(value, where, 1, [MAX_ITEMS])


def _copy_json(value: Any, where: str, depth: int, budget: list[int]) -> Any:
    """Validate and copy a JSON literal: JSON types only, finite numbers, bounded depth and size."""
    budget[0] -= 1
    if budget[0] < 0:
        raise FilterError(where, f"a literal may hold at most {MAX_ITEMS} values")
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        # NaN would equal nothing (not even itself) and json.dumps would write invalid JSON for it.
        if not math.isfinite(value):
            raise FilterError(where, "numbers must be finite")
        return value
    if isinstance(value, list | dict):
        if depth > MAX_DEPTH:
            raise FilterError(where, f"a literal may nest at most {MAX_DEPTH} levels deep")
        if isinstance(value, list):
            return [
                _copy_json(item, _item(where, index), depth + 1, budget) for index, item in enumerate(value)
            ]
        copied = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise FilterError(where, f"keys must be strings, not {_json_type(key)}")
            copied[key] = _copy_json(item, _at(where, key), depth + 1, budget)
        return copied
    raise FilterError(where, f"not a JSON value: {_json_type(value)}")


class Filter:
    """A parsed, compiled filter. Build it with :func:`parse_filter`."""

    __slots__ = ("_match", "_source")

    def __init__(self, match: _Match, source: dict[str, Any]) -> None:
        self._match = match
        self._source = source

    def matches(self, envelope: Mapping[str, Any]) -> bool:
        """Whether the envelope passes the filter. Never raises."""
        return self._match(envelope)

    @property
    def source(self) -> dict[str, Any]:
        """A copy of the filter JSON this was parsed from (``{}`` for ``None``)."""
        return copy.deepcopy(self._source)

    def __repr__(self) -> str:
        return f"Filter({self._source!r})"


def parse_filter(obj: Any) -> Filter:
    """Validate ``obj`` (JSON as ``json.loads`` returns it, or ``None``) and compile it to a :class:`Filter`.

    Raises :class:`FilterError` naming the first problem found.
    """
    if obj is None:
        return Filter(_always, {})
    match = _Parser().filter(obj, "", 1)
    # Validated above, so the copy only meets JSON types (and stays independent of the caller's dict).
    return Filter(match, copy.deepcopy(obj))
