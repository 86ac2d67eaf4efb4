"""Loading definitions: every file validated at start; a bad one is named by file, JSON path and problem."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from app.connector.schema import ConnectorDef


@dataclass(frozen=True)
class Problem:
    file: Path
    json_path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.json_path}: {self.message}"


class DefinitionError(Exception):
    """One or more definitions are invalid; ``problems`` lists each with its file and JSON path."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def default_connectors_dir() -> Path:
    """The repo's ``connectors/`` in a checkout or editable install, else the copy bundled in the wheel."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "connectors", here / "_bundled" / "connectors"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("connectors/ not found next to the app package")


def json_path(loc: tuple[int | str, ...]) -> str:
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def load_file(path: Path) -> ConnectorDef:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            [Problem(path, "$", f"not valid JSON: {exc.msg} (line {exc.lineno})")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError([Problem(path, "$", f"cannot be read: {exc}")]) from None
    try:
        return ConnectorDef.model_validate(document)
    except ValidationError as exc:
        problems = [
            Problem(path, json_path(tuple(err["loc"])), str(err["msg"]).removeprefix("Value error, "))
            for err in exc.errors()
        ]
        raise DefinitionError(problems) from None


def definition_files(folder: Path) -> list[Path]:
    # schema.json describes the format; it is not a definition.
    return sorted(p for p in folder.glob("*.json") if p.name != "schema.json")


def load_dir(folder: Path) -> dict[Path, ConnectorDef]:
    """Every definition in ``folder``, validated, with cross-file rules (unique handles, paths, events)."""
    if not folder.is_dir():
        raise DefinitionError([Problem(folder, "$", "is not a folder")])
    files = definition_files(folder)
    if not files:
        raise DefinitionError([Problem(folder, "$", "holds no connector definitions (*.json)")])
    loaded: dict[Path, ConnectorDef] = {}
    problems: list[Problem] = []
    for path in files:
        try:
            loaded[path] = load_file(path)
        except DefinitionError as exc:
            problems.extend(exc.problems)
    problems.extend(_cross_file_problems(loaded))
    if problems:
        raise DefinitionError(problems)
    return loaded


def _cross_file_problems(loaded: dict[Path, ConnectorDef]) -> list[Problem]:
    problems: list[Problem] = []
    handles: dict[str, Path] = {}
    paths: dict[str, Path] = {}
    for file, connector in loaded.items():
        if connector.handle in handles:
            problems.append(
                Problem(
                    file,
                    "$.handle",
                    f"handle {connector.handle!r} is also used by {handles[connector.handle]}",
                )
            )
        handles.setdefault(connector.handle, file)
        for r, resource in enumerate(connector.resources):
            for w, webhook in enumerate(resource.webhooks):
                where = f"$.resources[{r}].webhooks[{w}].path"
                if webhook.path in paths and paths[webhook.path] != file:
                    problems.append(
                        Problem(file, where, f"path {webhook.path} is also used by {paths[webhook.path]}")
                    )
                paths.setdefault(webhook.path, file)
    return problems
