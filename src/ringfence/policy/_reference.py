"""Generate the policy-file reference from the pydantic models, so it cannot drift."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from pydantic import BaseModel

from ringfence.policy._model import (
    AllOf,
    AnswersSpec,
    AnyOf,
    ArgSpec,
    CapSpec,
    Clause,
    NotOf,
    OutputSpec,
    PolicySpec,
    ProvenanceSpec,
    RuleSpec,
    ToolPolicy,
)

MODELS: list[type[BaseModel]] = [
    PolicySpec, ToolPolicy, ArgSpec, CapSpec, ProvenanceSpec, OutputSpec, RuleSpec, Clause,
    AllOf, AnyOf, NotOf, AnswersSpec,
]  # fmt: skip


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (types.UnionType, typing.Union):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin in (list, dict):
        inner = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{origin.__name__}[{inner}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation)).replace("NoneType", "null")


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        return f"`{field.default_factory()!r}`"
    return f"`{field.default!r}`"


def render_model(model: type[BaseModel]) -> list[str]:
    doc = inspect.cleandoc(model.__doc__ or "")
    out = [f"## {model.__name__}", "", doc, ""]
    out += ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        key = field.alias or name
        meaning = (field.description or "").replace("\n", " ").replace("|", "\\|")
        type_name = _type_name(field.annotation).replace("|", "\\|")
        out.append(f"| `{key}` | {type_name} | {_default(field)} | {meaning} |")
    return [*out, ""]


def render() -> str:
    lines = [
        "# Policy file reference",
        "",
        "Generated from `src/ringfence/policy/_model.py` by `make docs`; a test fails when it is",
        "out of date. Unknown keys are rejected everywhere. See `docs/policy.md` for the concepts.",
        "",
    ]
    for model in MODELS:
        lines.extend(render_model(model))
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
