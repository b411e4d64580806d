"""Loading red-team YAML files (goals, attack catalogue) with errors that name the file, the
line, the field and the reason, like the eval suite loader."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ringfence._yamllines import line_map
from ringfence.evals._loader import _nearest
from ringfence.exceptions import CatalogueError, Problem

M = TypeVar("M", bound=BaseModel)


def read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError([Problem(str(path), "", f"cannot read file: {exc}")]) from exc


def validate_yaml(model: type[M], text: str, source: str) -> M:
    """Parse ``text`` as YAML and validate it with ``model``; every problem reported at once."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise CatalogueError([Problem(source, where, str(getattr(exc, "problem", exc)))]) from exc
    if not isinstance(data, dict):
        raise CatalogueError([Problem(source, "", "expected a mapping at the top level")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = line_map(text)
        problems = [_problem(source, err, data, lines) for err in exc.errors()]
        raise CatalogueError(problems) from exc


def _problem(source: str, err: Any, data: Any, lines: dict[Any, int]) -> Problem:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    line = _nearest(lines, loc)
    item = _item_id(data, loc)
    field = ".".join(str(p) for p in loc) or "(top)"
    where = f"line {line} " if line else ""
    where += f"({item + ', ' if item else ''}{field})"
    reason = "unknown key" if err["type"] == "extra_forbidden" else str(err["msg"])
    return Problem(source, where, reason.removeprefix("Value error, "))


def _item_id(data: Any, loc: tuple[Any, ...]) -> str:
    if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(data, dict):
        items = data.get(loc[0])
        if isinstance(items, list) and loc[1] < len(items) and isinstance(items[loc[1]], dict):
            ident = items[loc[1]].get("id")
            return f"{loc[0]} {ident}" if ident else ""
    return ""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
