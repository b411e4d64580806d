"""Loading suites from YAML or JSONL (or by bundled name) with errors that name the file, the line,
the case id, the field and the reason; writing cases back (for regression cases from red-teaming).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ringfence._yamllines import LinePath, line_map, nearest_line
from ringfence.agents import Environment, get_environment
from ringfence.evals._schema import Case, SuiteMeta, SuiteSpec
from ringfence.exceptions import ConfigError, Problem, SuiteError


@dataclass
class Suite:
    """A validated suite: its cases and each case's validated environment setup."""

    name: str
    cases: list[Case]
    environment: str = "support-desk"
    description: str = ""
    principal: str | None = None
    source: str = "<memory>"
    digest: str = ""
    setups: dict[str, BaseModel | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.digest:
            blob = json.dumps([c.model_dump(mode="json", by_alias=True) for c in self.cases],
                              sort_keys=True)  # fmt: skip
            self.digest = hashlib.sha256(blob.encode()).hexdigest()

    def env(self) -> Environment:
        return get_environment(self.environment)

    def setup_for(self, case: Case) -> BaseModel | None:
        """The case's environment setup (validated now when the case was built in code)."""
        if case.id not in self.setups:
            self.setups[case.id] = validate_setup(self.env(), case, self.source, "")
        return self.setups[case.id]

    def select(self, ids: Iterable[str] = (), tags: Iterable[str] = ()) -> Suite:
        """A suite with only the cases whose id is in ``ids`` or that carry one of ``tags``."""
        want_ids, want_tags = set(ids), set(tags)
        keep = [
            c for c in self.cases
            if (not want_ids or c.id in want_ids) and (not want_tags or want_tags & set(c.tags))
        ]  # fmt: skip
        return Suite(self.name, keep, self.environment, self.description, self.principal,
                     self.source, "", {k: v for k, v in self.setups.items()})  # fmt: skip


def bundled_suites() -> dict[str, Path]:
    """Bundled suites by name (package data of :mod:`ringfence.evals`)."""
    folder = Path(str(files("ringfence.evals").joinpath("suites")))
    return {p.stem: p for p in sorted(folder.glob("*.y*ml"))} | {
        p.stem: p for p in sorted(folder.glob("*.jsonl"))
    }


def load_suite(name_or_path: str | Path) -> Suite:
    """Load a suite file (``.yaml``/``.yml``/``.jsonl``) or a bundled suite by name."""
    path = Path(name_or_path)
    if not path.exists():
        bundled = bundled_suites()
        if str(name_or_path) in bundled:
            path = bundled[str(name_or_path)]
        else:
            known = ", ".join(bundled) or "none"
            raise ConfigError(f"no suite file {str(name_or_path)!r} and no bundled suite of that "
                              f"name (bundled: {known})")  # fmt: skip
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError([Problem(source, "", f"cannot read file: {exc}")]) from exc
    if path.suffix == ".jsonl":
        return suite_from_jsonl(text, source)
    return suite_from_yaml(text, source)


def suite_from_yaml(text: str, source: str = "<string>") -> Suite:
    """Validate a YAML suite; every problem is reported at once."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise SuiteError([Problem(source, where, str(getattr(exc, "problem", exc)))]) from exc
    if not isinstance(data, dict):
        raise SuiteError([Problem(source, "", "a suite must be a mapping with 'name' and 'cases'")])
    lines = line_map(text)
    try:
        spec = SuiteSpec.model_validate(data)
    except ValidationError as exc:
        raise SuiteError([_problem(source, err, data, lines) for err in exc.errors()]) from exc
    suite = Suite(spec.name, list(spec.cases), spec.environment, spec.description,
                  spec.principal, source)  # fmt: skip
    _finish(suite, [lines.get(("cases", i), 0) for i in range(len(spec.cases))])
    return suite


def suite_from_jsonl(text: str, source: str = "<string>") -> Suite:
    """Validate a JSONL suite: one case per line; an optional first ``{"suite": {...}}`` line."""
    meta = SuiteMeta(name=Path(source).stem)
    cases: list[Case] = []
    numbers: list[int] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(Problem(source, f"line {number}", f"not JSON: {exc.msg}"))
            continue
        try:
            if isinstance(data, dict) and set(data) == {"suite"} and not cases:
                meta = SuiteMeta.model_validate(data["suite"])
            else:
                cases.append(Case.model_validate(data))
                numbers.append(number)
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(_problem(source, err, data, {}, line=number))
    if problems:
        raise SuiteError(problems)
    if not cases:
        raise SuiteError([Problem(source, "", "the suite has no cases")])
    suite = Suite(meta.name, cases, meta.environment, meta.description, meta.principal, source)
    _finish(suite, numbers)
    return suite


def _finish(suite: Suite, lines: Sequence[int]) -> None:
    """Cross-checks pydantic cannot do: duplicate ids, environment setups."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for case, line in zip(suite.cases, lines, strict=True):
        where = f"line {line} (case {case.id})" if line else f"case {case.id}"
        if case.id in seen:
            problems.append(Problem(suite.source, where, f"duplicate case id (first on line "
                                                         f"{seen[case.id]})"))  # fmt: skip
        seen.setdefault(case.id, line)
    try:
        env = suite.env()
    except ConfigError as exc:
        raise SuiteError([Problem(suite.source, "environment", str(exc))]) from exc
    for case, line in zip(suite.cases, lines, strict=True):
        try:
            where = f"line {line} " if line else ""
            suite.setups[case.id] = validate_setup(env, case, suite.source, where)
        except SuiteError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SuiteError(problems)


def validate_setup(env: Environment, case: Case, source: str, where: str) -> BaseModel | None:
    """A case's ``environment`` block validated by the environment's setup model."""
    if not case.environment:
        return None
    try:
        return env.setup_model.model_validate(case.environment)
    except ValidationError as exc:
        raise SuiteError([
            Problem(source, f"{where}(case {case.id}, environment.{_dotted(err['loc'])})",
                    _reason(err))
            for err in exc.errors()
        ]) from exc  # fmt: skip


def _problem(
    source: str, err: Mapping[str, Any], data: Any, lines: Mapping[LinePath, int],
    line: int | None = None,
) -> Problem:  # fmt: skip
    """``FILE:line N (case ID, field.path): reason``."""
    loc = tuple(err["loc"])
    case_id, field_loc = None, loc
    if line is not None:  # JSONL: the error is inside the case on this line
        case_id = data.get("id") if isinstance(data, dict) else None
    elif len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int):
        cases = data.get("cases")
        case = cases[loc[1]] if isinstance(cases, list) and loc[1] < len(cases) else None
        case_id = case.get("id") if isinstance(case, dict) else None
        field_loc, line = loc[2:], _nearest(lines, loc)
    else:
        line = _nearest(lines, loc)
    inner = [f"case {case_id}" if case_id else "", _dotted(field_loc) or "(top)"]
    head = f"line {line} " if line else ""
    return Problem(source, f"{head}({', '.join(p for p in inner if p)})", _reason(err))


def _dotted(loc: Iterable[Any]) -> str:
    return ".".join("in" if p == "in_" else str(p) for p in loc if not _is_union_tag(p))


_UNION_TAGS = frozenset({"Ops", "str", "int", "float", "bool", "none"})


def _is_union_tag(part: Any) -> bool:
    """Pydantic names union members in error locations; they are not keys of the document."""
    return isinstance(part, str) and (part in _UNION_TAGS or part.startswith("function-"))


def _reason(err: Mapping[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    return str(err["msg"]).removeprefix("Value error, ")


def _nearest(lines: Mapping[LinePath, int], loc: LinePath) -> int | None:
    path = tuple("in" if p == "in_" else p for p in loc if not _is_union_tag(p))
    return nearest_line(lines, path)


def case_to_dict(case: Case) -> dict[str, Any]:
    """A case as plain data, without defaults (what a suite file would contain)."""
    return case.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def dump_suite(suite: Suite, path: str | Path) -> None:
    """Write a suite as YAML (``.yaml``/``.yml``) or JSONL (``.jsonl``); round-trips with
    :func:`load_suite`."""
    target = Path(path)
    meta = {"name": suite.name, "description": suite.description,
            "environment": suite.environment}  # fmt: skip
    if suite.principal:
        meta["principal"] = suite.principal
    cases = [case_to_dict(c) for c in suite.cases]
    if target.suffix == ".jsonl":
        rows = [json.dumps({"suite": meta}, ensure_ascii=False)]
        rows += [json.dumps(c, ensure_ascii=False) for c in cases]
        target.write_text("\n".join(rows) + "\n", encoding="utf-8")
    else:
        text = yaml.safe_dump({**meta, "cases": cases}, sort_keys=False, allow_unicode=True)
        target.write_text(text, encoding="utf-8")
