"""Loading definitions: bad ones are named by file, JSON path and problem; new webhooks need no code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from app.connector.loader import DefinitionError, default_connectors_dir, load_dir
from app.connector.mapping import coerce, dedupe_key, select
from app.connector.schema import FieldType

TWILIO = default_connectors_dir() / "twilio.json"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(TWILIO, tmp_path / "twilio.json")
    return tmp_path


def edit(folder: Path, change: Any) -> None:
    path = folder / "twilio.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def problems(folder: Path) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        load_dir(folder)
    return [str(p) for p in info.value.problems]


def test_the_packaged_definitions_load() -> None:
    loaded = load_dir(default_connectors_dir())
    assert [c.handle for c in loaded.values()] == ["twilio"]


@pytest.mark.parametrize(
    ("change", "json_path", "fragment"),
    [
        (lambda d: d["resources"][0]["webhooks"][0].pop("path"), "$.resources[0].webhooks[0].path", "Field required"),
        (lambda d: d["resources"][1].update(colour="red"), "$.resources[1].colour", "Extra inputs"),
        (
            lambda d: d["resources"][0]["operations"]["read"]["path"].update(value="Messages/{{sid}}.json"),
            "$.resources[0].operations.read.path",
            "starts with '/'",
        ),
        (
            lambda d: d["resources"][0]["operations"]["read"]["path"].update(value="/X/{{nope}}.json"),
            "$.resources[0].operations.read",
            "undeclared placeholders: nope",
        ),
        (lambda d: d["service"].update(contentType="application/json"), "$.service.contentType", "Input should be"),
        (lambda d: d["resources"][2].update(handle="Bad Handle"), "$.resources[2].handle", "should match pattern"),
        (
            lambda d: d["resources"][0]["webhooks"].append(dict(d["resources"][0]["webhooks"][0])),
            "$.resources",
            "duplicate webhook path",
        ),
        (
            lambda d: d["resources"][0]["fields"][0].update(selector=[]),
            "$.resources[0].fields[0].selector",
            "at least 1 item",
        ),
    ],
    ids=["missing-path", "unknown-key", "relative-path", "undeclared-placeholder", "json-body", "bad-handle",
         "duplicate-route", "empty-selector"],
)  # fmt: skip
def test_a_bad_definition_names_file_path_and_problem(
    folder: Path, change: Any, json_path: str, fragment: str
) -> None:
    edit(folder, change)
    [problem] = problems(folder)
    file_part, path_part, message = problem.split(": ", 2)
    assert file_part == str(folder / "twilio.json")
    assert path_part == json_path
    assert fragment in message


def test_invalid_json_is_reported_with_its_line(folder: Path) -> None:
    (folder / "twilio.json").write_text('{\n  "handle": "twilio",\n  oops\n}')
    [problem] = problems(folder)
    assert "not valid JSON" in problem and "line 3" in problem


def test_two_files_claiming_the_same_route_are_refused(folder: Path) -> None:
    shutil.copy(folder / "twilio.json", folder / "twilio_copy.json")
    edit_copy = folder / "twilio_copy.json"
    document = json.loads(edit_copy.read_text())
    document["handle"] = "twilio_copy"
    edit_copy.write_text(json.dumps(document))
    found = problems(folder)
    assert any("is also used by" in p and "/webhooks/twilio/messages" in p for p in found)


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    assert "holds no connector definitions" in problems(tmp_path)[0]


@pytest.mark.parametrize(
    ("payload", "selector", "expected"),
    [
        ({"MessageSid": "SM1"}, ["MessageSid"], "SM1"),
        ({"data": {"sid": "X"}}, ["data", "sid"], "X"),
        ({"items": [{"a": 1}, {"a": 2}]}, ["items", 1, "a"], 2),
        ({"MessageSid": "SM1"}, ["Missing"], None),
        ({"a": "text"}, ["a", "deeper"], None),
        ({"items": [1]}, ["items", 5], None),
    ],
    ids=["key", "nested", "list-index", "missing", "through-a-string", "index-out-of-range"],
)
def test_select(payload: Any, selector: list[Any], expected: Any) -> None:
    assert select(payload, selector) == expected


@pytest.mark.parametrize(
    ("value", "field_type", "expected"),
    [
        ("2", FieldType.INTEGER, 2),
        ("two", FieldType.INTEGER, "two"),
        ("-122.4", FieldType.NUMBER, -122.4),
        ("true", FieldType.BOOLEAN, True),
        ("False", FieldType.BOOLEAN, False),
        ("maybe", FieldType.BOOLEAN, "maybe"),
        ('{"a": 1}', FieldType.OBJECT, {"a": 1}),
        (None, FieldType.INTEGER, None),
        (["1", "2"], FieldType.STRING, ["1", "2"]),
    ],
    ids=["int", "int-unparsable-kept", "number", "true", "false-any-case", "bool-unparsable-kept", "json-object",
         "null", "repeated-key-list"],
)  # fmt: skip
def test_coerce_keeps_what_does_not_parse(value: Any, field_type: FieldType, expected: Any) -> None:
    assert coerce(value, field_type) == expected


def test_dedupe_key_joins_selectors_or_hashes_everything() -> None:
    assert dedupe_key({"CallSid": "CA1", "CallStatus": "ringing", "SequenceNumber": "1"},
                      [["CallSid"], ["CallStatus"], ["SequenceNumber"]]) == "CA1\x1fringing\x1f1"  # fmt: skip
    hashed = dedupe_key({"A": "1"}, [])
    assert hashed.startswith("sha256:") and hashed == dedupe_key({"A": "1"}, [["Missing"]])
    assert hashed != dedupe_key({"A": "2"}, [])


def test_the_connector_package_stays_pure() -> None:
    """app/connector is data and logic only: no web framework, database or HTTP client."""
    source = "\n".join(p.read_text() for p in Path("app/connector").glob("*.py"))
    for forbidden in ("fastapi", "starlette", "sqlalchemy", "httpx", "aiohttp"):
        assert f"import {forbidden}" not in source and f"from {forbidden}" not in source
