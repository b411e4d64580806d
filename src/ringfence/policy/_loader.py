"""Loading policy files (YAML or JSON) with errors that name the file, line, path and reason."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ringfence._yamllines import LinePath, line_map, nearest_line
from ringfence.exceptions import PolicyError, Problem
from ringfence.policy._compile import cross_check
from ringfence.policy._engine import Policy
from ringfence.policy._model import PolicySpec


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys instead of keeping the last one."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _locate(loc: LinePath, data: Any, lines: Mapping[LinePath, int]) -> str:
    """``line N (a.b.0.c)`` for a pydantic error location, skipping union-tag components."""
    path: list[str | int] = []
    node = data
    for part in loc:
        key = "in" if part == "in_" else "not" if part == "not_" else part
        if isinstance(node, dict) and key in node:
            node = node[key]
            path.append(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
            path.append(key)
        elif isinstance(node, dict) and isinstance(key, str) and key not in node:
            if part in ("all", "any", "not", "clause"):
                continue  # a discriminated-union tag, not a key in the document
            path.append(key)
            break
    dotted = ".".join(str(p) for p in path) or "(top)"
    line = nearest_line(lines, path)
    return dotted if line is None else f"line {line} ({dotted})"


def parse_document(text: str, source: str) -> Any:
    """Parse YAML or JSON text; syntax errors become a :class:`PolicyError` with the line."""
    if source.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise PolicyError([Problem(source, f"line {exc.lineno}", exc.msg)]) from exc
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise PolicyError([Problem(source, where, str(reason))]) from exc


def policy_from_data(data: Any, source: str = "<memory>", text: str | None = None) -> Policy:
    """Validate parsed policy data; all problems are reported at once."""
    lines = line_map(text) if text is not None else {}
    if not isinstance(data, dict):
        raise PolicyError([Problem(source, "", "a policy must be a mapping at the top level")])
    try:
        spec = PolicySpec.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(source, _locate(err["loc"], data, lines), _message(err))
            for err in exc.errors(include_url=False)
        ]
        raise PolicyError(problems) from exc
    located = cross_check(spec)
    if located:
        raise PolicyError([Problem(source, _locate(p, data, lines), r) for p, r in located])
    return Policy(spec=spec, source=source)


def _message(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"])
    if err["type"] == "extra_forbidden":
        return "unknown key"
    return msg.removeprefix("Value error, ")


def load_policy(path: str | Path) -> Policy:
    """Load and validate a policy file (``.yaml``, ``.yml`` or ``.json``)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([Problem(source, "", f"cannot read file: {exc}")]) from exc
    return policy_from_data(parse_document(text, source), source, text)


def policy_from_yaml(text: str, source: str = "<string>") -> Policy:
    """Build a policy from YAML text (handy in tests and notebooks)."""
    return policy_from_data(parse_document(text, source), source, text)
