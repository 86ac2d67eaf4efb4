"""The subscription filter language: what each operator and combinator matches, and what parse rejects."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.subscription.filter import (
    COMBINATORS,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_ITEMS,
    OPERATORS,
    Filter,
    FilterError,
    parse_filter,
)

# An inbound SMS as section 4 of the contract shapes it, plus a few extra `data` fields so every
# value kind (number, null, false, list, nested object, unicode key) is reachable by a path.
ENVELOPE: dict[str, Any] = {
    "id": "evt_01",
    "type": "messages/message_received",
    "connector": "twilio",
    "account_sid": "AC0123",
    "received_at": "2026-12-03T18:00:00.123456Z",
    "signature_valid": True,
    "data": {
        "sid": "SM0001",
        "body": "Hello 👋 café",
        "from": "+14155552671",
        "to": "+15005550006",
        "num_media": 2,
        "price": -0.0075,
        "nothing": None,
        "opted_out": False,
        "media_urls": ["https://media.example/a.jpg", "https://media.example/b.png"],
        "tags": ["vip", "beta", 3, "4", True, None],
        "items": [{"name": "first"}, {"name": "second"}],
        "by_id": {"0": "zero"},
        "location": {"city": "Lisboa", "zip": "1000-001"},
        "città": "Roma",
    },
    "raw": {
        "MessageSid": "SM0001",
        "Body": "Hello 👋 café",
        "From": "+14155552671",
        "NumMedia": "2",
        "NumSegments": "10",
        "Price": "-0.00750",
        "Big": "1e3",
        "FromZip": "02134",
        "Padded": " 2",
        "Forwarded": "true",
    },
}

CASES: list[tuple[dict[str, Any] | None, bool, str]] = [
    # --- the empty filter -------------------------------------------------------------------------
    ({}, True, "empty-object-matches-all"),
    (None, True, "none-matches-all"),
    # --- bare literals mean $eq ---------------------------------------------------------------------
    ({"type": "messages/message_received"}, True, "literal-string-equal"),
    ({"type": "messages/status"}, False, "literal-string-different"),
    ({"data.body": "Hello 👋 café"}, True, "literal-data-body-emoji"),
    ({"data.body": "hello 👋 café"}, False, "literal-is-case-sensitive"),
    ({"data.body": "Hello 👋 cafe\u0301"}, False, "literal-no-unicode-normalisation"),
    ({"data.città": "Roma"}, True, "literal-unicode-key"),
    ({"account_sid": "AC0123", "connector": "twilio"}, True, "several-keys-all-true"),
    ({"account_sid": "AC0123", "connector": "other"}, False, "several-keys-one-false"),
    ({"raw.NumMedia": 2}, True, "literal-number-matches-numeric-string"),
    ({"raw.NumMedia": 2.0}, True, "literal-float-matches-integer-string"),
    ({"raw.NumMedia": "2"}, True, "literal-string-matches-string"),
    ({"raw.NumMedia": 3}, False, "literal-number-other-value"),
    ({"raw.Price": -0.0075}, True, "literal-number-matches-decimal-string"),
    ({"raw.FromZip": 2134}, False, "leading-zero-string-is-not-numeric"),
    ({"raw.Padded": 2}, False, "padded-string-is-not-numeric"),
    ({"data.num_media": 2}, True, "literal-number-matches-number"),
    ({"data.num_media": "2"}, False, "string-operand-never-matches-number"),
    ({"signature_valid": True}, True, "literal-true-matches-true"),
    ({"signature_valid": 1}, False, "number-operand-never-matches-boolean"),
    ({"signature_valid": "true"}, False, "string-operand-never-matches-boolean"),
    ({"raw.Forwarded": True}, False, "boolean-operand-never-matches-string"),
    ({"raw.Forwarded": "true"}, True, "string-flag-matches-as-string"),
    ({"data.opted_out": False}, True, "literal-false"),
    ({"data.opted_out": 0}, False, "zero-never-matches-false"),
    ({"data.nothing": None}, True, "literal-null-matches-null"),
    ({"data.body": None}, False, "literal-null-against-string"),
    ({"data.media_urls": "https://media.example/a.jpg"}, False, "no-implicit-list-traversal"),
    # --- $eq / $neq -------------------------------------------------------------------------------
    ({"data.body": {"$eq": "Hello 👋 café"}}, True, "eq-string"),
    ({"raw.NumSegments": {"$eq": 10}}, True, "eq-number-on-numeric-string"),
    ({"data.location": {"$eq": {"zip": "1000-001", "city": "Lisboa"}}}, True, "eq-object-key-order-free"),
    ({"data.location": {"$eq": {"city": "Lisboa"}}}, False, "eq-object-missing-key"),
    ({"data.items": {"$eq": [{"name": "first"}, {"name": "second"}]}}, True, "eq-list-of-objects"),
    (
        {"data.media_urls": {"$eq": ["https://media.example/b.png", "https://media.example/a.jpg"]}},
        False,
        "eq-list-order-matters",
    ),
    ({"data.items": {"$eq": [{"name": "first"}]}}, False, "eq-list-length-differs"),
    ({"data.tags": {"$eq": ["vip", "beta", 3, "4", True, None]}}, True, "eq-mixed-list"),
    ({"data.tags": {"$eq": ["vip", "beta", 3, 4, True, None]}}, False, "eq-literal-has-no-string-coercion"),
    ({"data.tags": {"$eq": ["vip", "beta", 3, "4", 1, None]}}, False, "eq-literal-true-is-not-1"),
    ({"data.tags": {"$eq": ["vip", "beta", 3.0, "4", True, None]}}, True, "eq-literal-3-equals-3.0"),
    ({"data.by_id": {"$eq": {}}}, False, "eq-empty-object-against-non-empty"),
    ({"data.body": {"$neq": "Goodbye"}}, True, "neq-different"),
    ({"data.body": {"$neq": "Hello 👋 café"}}, False, "neq-same"),
    ({"raw.NumMedia": {"$neq": 2}}, False, "neq-number-on-numeric-string"),
    ({"data.nothing": {"$neq": None}}, False, "neq-null-on-null"),
    ({"data.body": {"$neq": None}}, True, "neq-null-on-string"),
    # --- $in / $nin -------------------------------------------------------------------------------
    ({"data.from": {"$in": ["+14155550000", "+14155552671"]}}, True, "in-string-hit"),
    ({"data.from": {"$in": ["+14155550000"]}}, False, "in-string-miss"),
    ({"raw.NumMedia": {"$in": [1, 2, 3]}}, True, "in-number-on-numeric-string"),
    ({"raw.NumMedia": {"$in": [2.0]}}, True, "in-float-on-integer-string"),
    ({"data.num_media": {"$in": ["2"]}}, False, "in-string-never-matches-number"),
    ({"signature_valid": {"$in": [1, "true"]}}, False, "in-boolean-needs-boolean"),
    ({"signature_valid": {"$in": [False, True]}}, True, "in-boolean-hit"),
    ({"data.num_media": {"$in": [True]}}, False, "in-true-is-not-1"),
    ({"data.nothing": {"$in": ["x", None]}}, True, "in-null-hit"),
    ({"data.body": {"$in": ["x", None]}}, False, "in-null-miss"),
    ({"data.media_urls": {"$in": ["https://media.example/a.jpg"]}}, False, "in-does-not-look-inside-lists"),
    ({"type": {"$nin": ["messages/status", "calls/incoming"]}}, True, "nin-miss"),
    ({"type": {"$nin": ["messages/message_received"]}}, False, "nin-hit"),
    ({"raw.NumMedia": {"$nin": [2]}}, False, "nin-number-on-numeric-string"),
    # --- $startsWith / $endsWith --------------------------------------------------------------------
    ({"data.body": {"$startsWith": "Hello"}}, True, "starts-with-hit"),
    ({"data.body": {"$startsWith": "hello"}}, False, "starts-with-case-sensitive"),
    ({"data.body": {"$startsWith": ""}}, True, "starts-with-empty-prefix"),
    ({"data.num_media": {"$startsWith": "2"}}, False, "starts-with-number-value"),
    ({"data.from": {"$startsWith": "+1415"}}, True, "starts-with-phone-prefix"),
    ({"data.body": {"$endsWith": "café"}}, True, "ends-with-hit"),
    ({"data.body": {"$endsWith": "cafe"}}, False, "ends-with-miss"),
    ({"data.media_urls": {"$endsWith": ".png"}}, False, "ends-with-list-value"),
    # --- $contains --------------------------------------------------------------------------------
    ({"data.body": {"$contains": "👋"}}, True, "contains-emoji-substring"),
    ({"data.body": {"$contains": "bye"}}, False, "contains-substring-miss"),
    ({"data.body": {"$contains": "HELLO"}}, False, "contains-is-case-sensitive"),
    ({"data.body": {"$contains": ""}}, True, "contains-empty-string"),
    ({"data.tags": {"$contains": "vip"}}, True, "contains-list-string"),
    ({"data.tags": {"$contains": "VIP"}}, False, "contains-list-string-miss"),
    ({"data.tags": {"$contains": 4}}, True, "contains-list-number-matches-numeric-string"),
    ({"data.tags": {"$contains": "3"}}, False, "contains-list-string-never-matches-number"),
    ({"data.tags": {"$contains": True}}, True, "contains-list-boolean"),
    ({"data.tags": {"$contains": None}}, True, "contains-list-null"),
    ({"data.media_urls": {"$contains": None}}, False, "contains-list-null-miss"),
    ({"data.body": {"$contains": 1}}, False, "contains-number-on-string-value"),
    ({"data.num_media": {"$contains": 2}}, False, "contains-on-number-value"),
    ({"data.location": {"$contains": "city"}}, False, "contains-on-object-value"),
    # --- $exists ----------------------------------------------------------------------------------
    ({"data.body": {"$exists": True}}, True, "exists-true-present"),
    ({"data.nothing": {"$exists": True}}, True, "exists-true-null-counts"),
    ({"data.body": {"$exists": False}}, False, "exists-false-present"),
    # --- $gt $gte $lt $lte ------------------------------------------------------------------------
    ({"raw.NumMedia": {"$gt": 0}}, True, "gt-numeric-string"),
    ({"raw.NumMedia": {"$gt": 2}}, False, "gt-equal-is-false"),
    ({"raw.NumMedia": {"$gte": 2}}, True, "gte-equal"),
    ({"raw.NumMedia": {"$lt": 2.5}}, True, "lt-float-operand"),
    ({"raw.NumMedia": {"$lte": 1}}, False, "lte-below"),
    ({"raw.NumSegments": {"$gt": 9}}, True, "gt-number-operand-compares-numerically"),
    ({"raw.NumSegments": {"$gt": "9"}}, False, "gt-string-operand-compares-as-strings"),
    ({"raw.Price": {"$lt": 0}}, True, "lt-negative-decimal-string"),
    ({"raw.Big": {"$gt": 999}}, True, "gt-exponent-string"),
    ({"data.price": {"$gte": -0.0075, "$lt": 0}}, True, "range-on-float"),
    ({"raw.NumMedia": {"$gt": 1, "$lt": 3}}, True, "range-inside"),
    ({"raw.NumMedia": {"$gt": 2, "$lt": 3}}, False, "range-one-bound-fails"),
    ({"received_at": {"$gte": "2026-12-03"}}, True, "gte-iso-timestamp-string"),
    ({"received_at": {"$lt": "2026-12-03T17:59:59.999999Z"}}, False, "lt-iso-timestamp-string"),
    ({"data.body": {"$gt": 0}}, False, "gt-number-on-non-numeric-string"),
    ({"raw.FromZip": {"$gt": 0}}, False, "gt-leading-zero-string"),
    ({"data.num_media": {"$gt": "1"}}, False, "gt-string-operand-on-number"),
    ({"signature_valid": {"$gte": 0}}, False, "gte-on-boolean"),
    ({"data.nothing": {"$lte": 0}}, False, "lte-on-null"),
    ({"data.tags": {"$gt": 0}}, False, "gt-on-list"),
    ({"data.body": {"$gt": "Hello"}}, True, "gt-string-code-point-order"),
    ({"data.body": {"$lte": "Hello"}}, False, "lte-string-code-point-order"),
    # --- paths and list indexing ----------------------------------------------------------------------
    ({"data.media_urls.0": "https://media.example/a.jpg"}, True, "index-0"),
    ({"data.media_urls.1": {"$endsWith": ".png"}}, True, "index-1"),
    ({"data.media_urls.2": {"$exists": False}}, True, "index-out-of-range-is-missing"),
    ({"data.media_urls.-1": {"$exists": False}}, True, "negative-index-is-missing"),
    ({"data.media_urls.01": {"$exists": False}}, True, "non-canonical-index-is-missing"),
    ({"data.items.1.name": "second"}, True, "index-then-key"),
    ({"data.items.name": {"$exists": False}}, True, "key-on-list-is-missing"),
    ({"data.by_id.0": "zero"}, True, "numeric-segment-is-a-key-on-objects"),
    ({"data.body.0": {"$exists": False}}, True, "step-into-string-is-missing"),
    ({"data.nothing.x": {"$exists": False}}, True, "step-into-null-is-missing"),
    ({"data.location.city": {"$in": ["Lisboa", "Porto"]}}, True, "nested-object-path"),
    # --- combinators ------------------------------------------------------------------------------
    ({"$and": [{"type": "messages/message_received"}, {"raw.NumMedia": {"$gt": 0}}]}, True, "and-all-true"),
    ({"$and": [{"type": "messages/message_received"}, {"raw.NumMedia": {"$gt": 5}}]}, False, "and-one-false"),
    ({"$or": [{"data.body": "nope"}, {"raw.NumMedia": 2}]}, True, "or-one-true"),
    ({"$or": [{"data.body": "nope"}, {"raw.NumMedia": 5}]}, False, "or-none-true"),
    ({"$not": {"data.body": {"$startsWith": "STOP"}}}, True, "not-false-is-true"),
    ({"$not": {"data.body": {"$startsWith": "Hello"}}}, False, "not-true-is-false"),
    ({"$not": {"data.missing": "x"}}, True, "not-matches-missing"),
    ({"$or": [{}]}, True, "or-of-empty-filter"),
    ({"$and": [{}, {}]}, True, "and-of-empty-filters"),
    ({"$not": {}}, False, "not-empty-filter-matches-nothing"),
    ({"$or": [{"$not": {}}, {"data.body": {"$exists": True}}]}, True, "or-drops-never"),
    ({"$not": {"$not": {"raw.NumMedia": 2}}}, True, "double-not"),
    ({"$not": {"$or": [{"data.body": "x"}, {"raw.NumMedia": 2}]}}, False, "not-of-or"),
    (
        {
            "$and": [
                {"connector": "twilio"},
                {"$or": [{"raw.NumMedia": {"$gt": 5}}, {"data.body": {"$contains": "👋"}}]},
            ]
        },
        True,
        "or-inside-and",
    ),
    (
        {"$or": [{"$and": [{"connector": "twilio"}, {"raw.NumMedia": 0}]}, {"$and": [{"connector": "x"}]}]},
        False,
        "and-inside-or",
    ),
    (
        {
            "type": "messages/message_received",
            "$or": [{"raw.NumMedia": 0}, {"data.tags": {"$contains": "vip"}}],
        },
        True,
        "combinator-beside-paths",
    ),
    (
        {"type": "messages/message_received", "$not": {"data.from": {"$startsWith": "+1415"}}},
        False,
        "not-beside-path",
    ),
    (
        {
            "$and": [
                {
                    "$or": [
                        {"$not": {"$and": [{"raw.NumMedia": {"$gte": 1}}, {"data.body": {"$endsWith": "é"}}]}}
                    ]
                }
            ]
        },
        False,
        "deeply-nested",
    ),
]


@pytest.mark.parametrize(("spec", "expected"), [c[:2] for c in CASES], ids=[c[2] for c in CASES])
def test_filter_matches_envelope(spec: dict[str, Any] | None, expected: bool) -> None:
    assert parse_filter(spec).matches(ENVELOPE) is expected


# Every operator on a path that is not there: only $neq, $nin and $exists: false match.
MISSING_CASES: list[tuple[str, Any, bool]] = [
    ("$eq", "x", False),
    ("$eq", None, False),
    ("$neq", "x", True),
    ("$neq", None, True),
    ("$in", ["x", None], False),
    ("$nin", ["x", None], True),
    ("$startsWith", "", False),
    ("$endsWith", "", False),
    ("$contains", "", False),
    ("$exists", True, False),
    ("$exists", False, True),
    ("$gt", 0, False),
    ("$gte", "", False),
    ("$lt", 0, False),
    ("$lte", "z", False),
]


@pytest.mark.parametrize(
    ("name", "operand", "expected"),
    MISSING_CASES,
    ids=[f"{name}-{operand!r}" for name, operand, _ in MISSING_CASES],
)
@pytest.mark.parametrize("path", ["data.missing", "missing.deeper", "data.media_urls.9"])
def test_operator_on_missing_path(path: str, name: str, operand: Any, expected: bool) -> None:
    assert parse_filter({path: {name: operand}}).matches(ENVELOPE) is expected


def test_missing_cases_cover_every_operator() -> None:
    assert {name for name, _, _ in MISSING_CASES} == OPERATORS


def test_bare_null_does_not_match_missing() -> None:
    assert parse_filter({"data.missing": None}).matches(ENVELOPE) is False


# Strings that Python's int() or float() would accept (or nearly) but that are not JSON numbers.
@pytest.mark.parametrize(
    "text",
    [
        " 2",
        "2 ",
        "02",
        "+2",
        "2.",
        ".5",
        "0x1F",
        "1_000",
        "NaN",
        "nan",
        "Infinity",
        "inf",
        "١٢",
        "２",
        "",
        "-",
    ],
    ids=repr,
)
def test_non_json_number_strings_never_compare_as_numbers(text: str) -> None:
    envelope = {"raw": {"Value": text}}
    assert parse_filter({"raw.Value": {"$gte": -1e308}}).matches(envelope) is False
    assert parse_filter({"raw.Value": {"$lte": 1e308}}).matches(envelope) is False
    assert parse_filter({"raw.Value": {"$in": [0, 2, 12, 31, 1000]}}).matches(envelope) is False


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("0", 0),
        ("-0", 0),
        ("2.50", 2.5),
        ("-1.5E+2", -150),
        ("1e-3", 0.001),
        ("12345678901234567891", 12345678901234567891),
    ],
    ids=repr,
)
def test_json_number_strings_equal_their_value(text: str, number: float) -> None:
    assert parse_filter({"raw.Value": number}).matches({"raw": {"Value": text}}) is True


def test_large_integer_strings_compare_exactly() -> None:
    # As floats these two would be equal; compared as integers they are not.
    assert (
        parse_filter({"raw.Value": 12345678901234567890}).matches({"raw": {"Value": "12345678901234567891"}})
        is False
    )


def test_digit_string_beyond_int_conversion_limit_still_orders() -> None:
    assert parse_filter({"raw.Value": {"$gt": 10**300}}).matches({"raw": {"Value": "9" * 5000}}) is True


def test_tuple_in_envelope_behaves_like_a_list() -> None:
    envelope = {"data": {"urls": ("a", "b")}}
    assert parse_filter({"data.urls.1": "b"}).matches(envelope) is True
    assert parse_filter({"data.urls": {"$contains": "a"}}).matches(envelope) is True
    assert parse_filter({"data.urls": {"$eq": ["a", "b"]}}).matches(envelope) is True


# --- never raising at match time ---------------------------------------------------------------------


class _ExplodingMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("boom")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("boom")

    def __len__(self) -> int:
        raise RuntimeError("boom")


class _ExplodingStr(str):
    """A string whose comparison raises: the filter's type checks let it through to ``==``."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("boom")

    __hash__ = str.__hash__


HOSTILE_ENVELOPES = [
    pytest.param(_ExplodingMapping(), id="mapping-that-raises"),
    pytest.param({"data": _ExplodingMapping()}, id="nested-mapping-that-raises"),
    pytest.param({"data": {"body": _ExplodingStr("x")}}, id="value-with-raising-eq"),
    pytest.param({"data": {"body": [_ExplodingStr("x")]}}, id="list-item-with-raising-eq"),
    pytest.param({"data": {"body": datetime(2026, 12, 3, tzinfo=UTC)}}, id="non-json-value"),
    pytest.param({"data": {"body": float("nan")}}, id="nan-value"),
    pytest.param({"data": {"body": b"bytes"}}, id="bytes-value"),
    pytest.param({"data": "not-an-object"}, id="data-is-a-string"),
    pytest.param([], id="envelope-is-a-list"),
    pytest.param(None, id="envelope-is-none"),
]

EVERY_OPERATOR_FILTER = {
    "$or": [
        {"data.body": {"$eq": "x"}},
        {"data.body": {"$eq": {"a": [1]}}},
        {"data.body": {"$neq": "x"}},
        {"data.body": {"$in": ["x", 1, True, None]}},
        {"data.body": {"$nin": ["x"]}},
        {"data.body": {"$startsWith": "x"}},
        {"data.body": {"$endsWith": "x"}},
        {"data.body": {"$contains": "x"}},
        {"data.body": {"$contains": 1}},
        {"data.body": {"$exists": True}},
        {"data.body": {"$gt": 1, "$lt": "z"}},
        {"data.body.0": {"$gte": 0}},
    ]
}


@pytest.mark.parametrize("envelope", HOSTILE_ENVELOPES)
@pytest.mark.parametrize(
    "spec", [EVERY_OPERATOR_FILTER, {"$not": EVERY_OPERATOR_FILTER}], ids=["or", "not-or"]
)
def test_matches_never_raises_on_hostile_envelopes(spec: dict[str, Any], envelope: Any) -> None:
    result = parse_filter(spec).matches(envelope)
    assert isinstance(result, bool)


def test_condition_that_raises_is_false_and_its_negation_true() -> None:
    envelope = {"data": {"body": _ExplodingStr("x")}}
    assert parse_filter({"data.body": "x"}).matches(envelope) is False
    assert parse_filter({"$not": {"data.body": "x"}}).matches(envelope) is True
    assert (
        parse_filter({"data.body": {"$contains": "x"}}).matches({"data": {"body": [_ExplodingStr("x")]}})
        is False
    )
    assert parse_filter({"data.body": {"$exists": True}}).matches(_ExplodingMapping()) is False
    assert parse_filter({"$not": {"data.body": {"$exists": True}}}).matches(_ExplodingMapping()) is True


# --- parse-time validation -------------------------------------------------------------------------


def _nested_not(levels: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "x"}
    for _ in range(levels):
        spec = {"$not": spec}
    return spec


def _nested_list(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


INVALID: list[tuple[Any, str, str, str]] = [
    ([], "", "must be a JSON object, not list", "filter-is-a-list"),
    ("type", "", "must be a JSON object, not string", "filter-is-a-string"),
    ({1: "x"}, "", "keys must be strings", "non-string-key"),
    ({"data.body": {"$regex": "^STOP"}}, "data.body.$regex", "unknown operator '$regex'", "unknown-operator"),
    (
        {"data.body": {"$eq": "x", "$like": "y"}},
        "data.body.$like",
        "unknown operator '$like'",
        "unknown-second-operator",
    ),
    ({"$eq": "x"}, "$eq", "needs a path", "operator-at-top-level"),
    ({"$where": "1"}, "$where", "unknown combinator '$where'", "unknown-top-level-dollar-key"),
    ({"$nor": [{}]}, "$nor", "unknown combinator", "mongo-nor-is-not-supported"),
    (
        {"data.body": {"$or": [{"$eq": "a"}]}},
        "data.body.$or",
        "combines filters, not operators",
        "combinator-in-operator-object",
    ),
    ({"data.body": {"$not": {"$eq": "a"}}}, "data.body.$not", "combines filters", "not-in-operator-object"),
    (
        {"data.body": {"$eq": "x", "lang": "en"}},
        "data.body",
        "mixes operators",
        "operators-mixed-with-plain-keys",
    ),
    ({"data": {"body": "x"}}, "data", "dotted path like 'data.body'", "plain-object-value"),
    ({"data.body": {}}, "data.body", "empty object", "empty-operator-object"),
    ({"type": ["a", "b"]}, "type", '{"$in": […]}', "bare-list-value"),
    (
        {"data.body": {1, 2}},
        "data.body",
        "expected a string, number, boolean or null, not set",
        "bare-non-json-value",
    ),
    ({"data..body": "x"}, "data..body", "empty segment", "empty-middle-segment"),
    ({".data": "x"}, ".data", "empty segment", "empty-leading-segment"),
    ({"data.": "x"}, "data.", "empty segment", "empty-trailing-segment"),
    ({"": "x"}, "", "empty segment", "empty-path"),
    ({"data.$body": "x"}, "data.$body", "may not start with '$'", "dollar-segment"),
    ({"raw.NumMedia": math.nan}, "raw.NumMedia", "finite", "bare-nan"),
    ({"raw.NumMedia": {"$gt": math.inf}}, "raw.NumMedia.$gt", "finite", "gt-infinity"),
    ({"raw.NumMedia": {"$gt": True}}, "raw.NumMedia.$gt", "number or a string, not boolean", "gt-boolean"),
    ({"raw.NumMedia": {"$gte": None}}, "raw.NumMedia.$gte", "number or a string, not null", "gte-null"),
    ({"raw.NumMedia": {"$lt": [1]}}, "raw.NumMedia.$lt", "not list", "lt-list"),
    ({"raw.NumMedia": {"$lte": {}}}, "raw.NumMedia.$lte", "not object", "lte-object"),
    (
        {"data.body": {"$in": "STOP"}},
        "data.body.$in",
        "'$in' takes a non-empty list, not string",
        "in-not-a-list",
    ),
    ({"data.body": {"$in": []}}, "data.body.$in", "non-empty list", "in-empty"),
    ({"data.body": {"$nin": {"a": 1}}}, "data.body.$nin", "'$nin' takes a non-empty list", "nin-object"),
    (
        {"data.body": {"$in": ["a", ["b"]]}},
        "data.body.$in[1]",
        "items must be strings, numbers",
        "in-nested-list-item",
    ),
    ({"data.body": {"$nin": ["a", {"b": 1}]}}, "data.body.$nin[1]", "not object", "nin-object-item"),
    ({"data.body": {"$in": [1, math.nan]}}, "data.body.$in[1]", "finite", "in-nan-item"),
    (
        {"data.body": {"$in": list(range(MAX_ITEMS + 1))}},
        "data.body.$in",
        f"at most {MAX_ITEMS}",
        "in-too-long",
    ),
    (
        {"data.body": {"$startsWith": 1}},
        "data.body.$startsWith",
        "'$startsWith' takes a string",
        "starts-with-number",
    ),
    (
        {"data.body": {"$endsWith": None}},
        "data.body.$endsWith",
        "'$endsWith' takes a string",
        "ends-with-null",
    ),
    ({"data.body": {"$contains": ["a"]}}, "data.body.$contains", "not list", "contains-list"),
    ({"data.body": {"$exists": "yes"}}, "data.body.$exists", "true or false, not string", "exists-string"),
    ({"data.body": {"$exists": 1}}, "data.body.$exists", "true or false, not number", "exists-number"),
    (
        {"data.body": {"$eq": {"a": {1, 2}}}},
        "data.body.$eq.a",
        "not a JSON value: set",
        "eq-non-json-literal",
    ),
    ({"data.body": {"$eq": {1: "x"}}}, "data.body.$eq", "keys must be strings", "eq-non-string-key"),
    ({"data.body": {"$neq": [1, math.inf]}}, "data.body.$neq[1]", "finite", "neq-infinite-item"),
    (
        {"data.body": {"$eq": _nested_list(MAX_DEPTH + 1)}},
        "data.body.$eq" + "[0]" * MAX_DEPTH,
        "nest at most",
        "eq-literal-too-deep",
    ),
    (
        {"data.body": {"$eq": list(range(MAX_ITEMS))}},
        f"data.body.$eq[{MAX_ITEMS - 1}]",
        "at most",
        "eq-literal-too-big",
    ),
    ({"$or": []}, "$or", "'$or' takes a non-empty list of filters", "or-empty"),
    ({"$and": {"type": "x"}}, "$and", "not object", "and-object"),
    ({"$or": "x"}, "$or", "not string", "or-string"),
    ({"$and": [{"type": "x"}, "y"]}, "$and[1]", "item must be a filter (a JSON object)", "and-item-string"),
    ({"$not": [{"type": "x"}]}, "$not", "'$not' takes a filter", "not-list"),
    (
        {"$or": [{"type": "x"}, {"data.body": {"$in": 5}}]},
        "$or[1].data.body.$in",
        "non-empty list",
        "nested-error-path",
    ),
    (
        {"$and": [{"$not": {"$or": [{"x": {"$regex": "."}}]}}]},
        "$and[0].$not.$or[0].x.$regex",
        "unknown operator",
        "deep-error-path",
    ),
    (_nested_not(MAX_DEPTH), "$not" + ".$not" * (MAX_DEPTH - 1), f"at most {MAX_DEPTH} levels", "too-deep"),
    (
        {"$and": [{f"raw.P{i}": "x"} for i in range(MAX_CONDITIONS + 1)]},
        f"$and[{MAX_CONDITIONS}].raw.P{MAX_CONDITIONS}",
        f"at most {MAX_CONDITIONS} conditions",
        "too-many-conditions",
    ),
    (
        {
            "raw.NumMedia": {"$gt": 0, "$lt": 9},
            "$or": [{f"raw.P{i}": "x"} for i in range(MAX_CONDITIONS - 1)],
        },
        f"$or[{MAX_CONDITIONS - 2}].raw.P{MAX_CONDITIONS - 2}",
        "conditions",
        "operators-count-as-conditions",
    ),
]


@pytest.mark.parametrize(("spec", "path", "fragment"), [c[:3] for c in INVALID], ids=[c[3] for c in INVALID])
def test_invalid_filter_is_rejected_with_its_location(spec: Any, path: str, fragment: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(spec)
    assert caught.value.path == path
    assert fragment in caught.value.message


def test_limits_are_inclusive() -> None:
    assert parse_filter(_nested_not(MAX_DEPTH - 1)).matches(ENVELOPE) is True  # 8 levels, the type inside
    conditions = {"$and": [{f"raw.P{i}": {"$exists": False}} for i in range(MAX_CONDITIONS)]}
    assert parse_filter(conditions).matches(ENVELOPE) is True
    assert parse_filter({"data.from": {"$in": [str(i) for i in range(MAX_ITEMS)]}}).matches(ENVELOPE) is False
    assert parse_filter({"data.body": {"$eq": _nested_list(MAX_DEPTH)}}).matches(ENVELOPE) is False


def test_filter_error_is_a_value_error_that_names_its_location() -> None:
    # A ValueError, so a Pydantic validator calling parse_filter turns it into a 422.
    with pytest.raises(ValueError, match=r"^data\.body\.\$regex: unknown operator '\$regex'"):
        parse_filter({"data.body": {"$regex": "x"}})


def test_filter_error_at_the_root_has_no_location_prefix() -> None:
    error = FilterError("", "a filter must be a JSON object, not list")
    assert str(error) == "a filter must be a JSON object, not list"


def test_parse_copies_the_filter() -> None:
    spec: dict[str, Any] = {"data.tags": {"$eq": ["vip"]}, "data.from": {"$in": ["+1"]}}
    parsed = parse_filter(spec)
    spec["data.tags"]["$eq"].append("beta")
    spec["data.from"]["$in"].append("+14155552671")
    envelope = {"data": {"tags": ["vip"], "from": "+1"}}
    assert parsed.matches(envelope) is True
    assert parsed.source == {"data.tags": {"$eq": ["vip"]}, "data.from": {"$in": ["+1"]}}


def test_source_of_none_is_empty_and_repr_shows_it() -> None:
    assert parse_filter(None).source == {}
    assert repr(parse_filter({"type": "x"})) == "Filter({'type': 'x'})"


def test_parse_returns_a_filter() -> None:
    assert isinstance(parse_filter({"type": "x"}), Filter)


# --- properties ------------------------------------------------------------------------------------

KEYS = ["a", "b", "0", "1", "body", "NumMedia"]

numeric_strings = st.sampled_from(["0", "2", "10", "-1.5", "1e3", "02", " 2", "NaN", "", "true"])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    numeric_strings,
)
# Envelope values may also hold what JSON cannot: NaN, infinities, tuples.
envelope_values = st.recursive(
    scalars | st.floats(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.tuples(children, children)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=3)
    ),
    max_leaves=12,
)
envelopes = st.dictionaries(st.sampled_from(KEYS), envelope_values, max_size=4)
paths = st.lists(st.sampled_from(KEYS), min_size=1, max_size=3).map(".".join)
json_literals = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KEYS), children, max_size=3)
    ),
    max_leaves=6,
)
ordered = st.one_of(
    st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=3), numeric_strings
)
operator_objects = st.one_of(
    st.builds(lambda v: {"$eq": v}, json_literals),
    st.builds(lambda v: {"$neq": v}, json_literals),
    st.builds(lambda v: {"$in": v}, st.lists(scalars, min_size=1, max_size=4)),
    st.builds(lambda v: {"$nin": v}, st.lists(scalars, min_size=1, max_size=4)),
    st.builds(lambda v: {"$startsWith": v}, st.text(max_size=3)),
    st.builds(lambda v: {"$endsWith": v}, st.text(max_size=3)),
    st.builds(lambda v: {"$contains": v}, scalars),
    st.builds(lambda v: {"$exists": v}, st.booleans()),
    st.builds(lambda v: {"$gt": v}, ordered),
    st.builds(lambda v: {"$gte": v}, ordered),
    st.builds(lambda v: {"$lt": v}, ordered),
    st.builds(lambda v, w: {"$lte": v, "$gte": w}, ordered, ordered),
)
leaves = st.dictionaries(paths, scalars | operator_objects, min_size=1, max_size=2)


def _filters(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    # Sized to stay valid: at most 2**3 leaves of 2 paths with 2 operators is 32 conditions, so even three
    # of them under one $and stay within MAX_CONDITIONS, and 3 levels plus a $not within MAX_DEPTH.
    if depth == 0:
        return leaves
    sub = _filters(depth - 1)
    return st.one_of(
        leaves,
        st.builds(lambda fs: {"$and": fs}, st.lists(sub, min_size=1, max_size=2)),
        st.builds(lambda fs: {"$or": fs}, st.lists(sub, min_size=1, max_size=2)),
        st.builds(lambda f: {"$not": f}, sub),
    )


filters = _filters(3)
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, database=None)


@PROPERTY_SETTINGS
@given(spec=filters, envelope=envelopes)
def test_matches_never_raises_and_not_inverts(spec: dict[str, Any], envelope: dict[str, Any]) -> None:
    result = parse_filter(spec).matches(envelope)
    assert isinstance(result, bool)
    assert parse_filter({"$not": spec}).matches(envelope) is (not result)


@PROPERTY_SETTINGS
@given(specs=st.lists(filters, min_size=1, max_size=3), envelope=envelopes)
def test_and_or_agree_with_all_and_any(specs: list[dict[str, Any]], envelope: dict[str, Any]) -> None:
    results = [parse_filter(spec).matches(envelope) for spec in specs]
    assert parse_filter({"$and": specs}).matches(envelope) is all(results)
    assert parse_filter({"$or": specs}).matches(envelope) is any(results)


@PROPERTY_SETTINGS
@given(path=paths, literal=json_literals, items=st.lists(scalars, min_size=1, max_size=4), envelope=envelopes)
def test_negated_operators_are_exact_complements(
    path: str, literal: Any, items: list[Any], envelope: dict[str, Any]
) -> None:
    def match(operators: dict[str, Any]) -> bool:
        return parse_filter({path: operators}).matches(envelope)

    assert match({"$neq": literal}) is not match({"$eq": literal})
    assert match({"$nin": items}) is not match({"$in": items})
    assert match({"$exists": False}) is not match({"$exists": True})
    assert match({"$in": items}) is any(match({"$eq": item}) for item in items)


# Arbitrary JSON, biased towards the language's own keys, must parse or fail with FilterError only.
filter_keys = st.sampled_from(
    [*sorted(COMBINATORS), *sorted(OPERATORS), "$regex", "a", "a.b", "a..b", "", "0"]
)
arbitrary_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(filter_keys, children, max_size=3),
    max_leaves=20,
)


@PROPERTY_SETTINGS
@given(spec=arbitrary_json, envelope=envelopes)
def test_parse_raises_only_filter_error(spec: Any, envelope: dict[str, Any]) -> None:
    try:
        parsed = parse_filter(spec)
    except FilterError as error:
        assert error.message
        return
    assert isinstance(parsed.matches(envelope), bool)
