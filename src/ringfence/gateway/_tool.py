"""Tools the gateway wraps: Python callables (schema from the signature) and OpenAI-style
function schemas (validated with JSON Schema)."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from pydantic import ConfigDict, ValidationError, create_model

from ringfence.exceptions import ConfigError

ArgsValidator = Callable[[Mapping[str, Any]], dict[str, Any]]
"""Validates (and, for typed Python tools, coerces) arguments; raises :class:`ArgsInvalid`."""


class ArgsInvalid(ValueError):
    """Arguments do not match the tool's schema. The message is safe to show to the model."""


@dataclass(frozen=True)
class Tool:
    """A callable tool with its JSON schema. ``fn`` may be None for tools executed elsewhere
    (a proxy forwards the call, an MCP server runs it)."""

    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., Any] | None = None
    validate: ArgsValidator | None = field(default=None, compare=False)

    def openai_schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def check_args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        return dict(args) if self.validate is None else self.validate(args)


def tool_from_function(
    fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> Tool:
    """Wrap a Python function; its signature and type hints become the argument schema."""
    tool_name = name or fn.__name__
    hints = typing.get_type_hints(fn)
    fields: dict[str, Any] = {}
    for pname, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigError(f"tool {tool_name!r}: *args/**kwargs are not supported")
        default = ... if param.default is param.empty else param.default
        fields[pname] = (hints.get(pname, Any), default)
    model = create_model(f"{tool_name}_args", __config__=ConfigDict(extra="forbid"), **fields)
    names = list(fields)

    def validate(args: Mapping[str, Any]) -> dict[str, Any]:
        try:
            parsed = model.model_validate(dict(args))
        except ValidationError as exc:
            raise ArgsInvalid(_pydantic_message(exc)) from exc
        return {k: getattr(parsed, k) for k in names if k in args or k in parsed.model_fields_set}

    doc = description if description is not None else inspect.getdoc(fn) or ""
    return Tool(tool_name, doc.split("\n\n")[0].strip(), model.model_json_schema(), fn, validate)


def _pydantic_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        loc = ".".join(str(x) for x in err["loc"]) or "arguments"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def tool_from_openai(schema: Mapping[str, Any], fn: Callable[..., Any] | None = None) -> Tool:
    """Wrap an OpenAI tool schema (``{"type": "function", "function": {...}}`` or the inner
    ``function`` object); arguments are validated against its ``parameters`` JSON Schema."""
    spec = schema.get("function", schema)
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise ConfigError("an OpenAI tool schema needs function.name")
    params = dict(spec.get("parameters") or {"type": "object", "properties": {}})
    try:
        validator_cls = jsonschema.validators.validator_for(params)
        validator_cls.check_schema(params)
    except jsonschema.SchemaError as exc:
        raise ConfigError(
            f"tool {spec['name']!r}: invalid parameters schema: {exc.message}"
        ) from exc
    validator = validator_cls(params)

    def validate(args: Mapping[str, Any]) -> dict[str, Any]:
        error = jsonschema.exceptions.best_match(validator.iter_errors(dict(args)))
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path) or "arguments"
            raise ArgsInvalid(f"{where}: {error.message}")
        return dict(args)

    return Tool(str(spec["name"]), str(spec.get("description") or ""), params, fn, validate)
