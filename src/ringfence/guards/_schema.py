"""Structured output: JSON-schema or pydantic validation, and a bounded re-ask loop.

:func:`reask` calls a model, validates its answer and, while it is invalid, asks again with the
validation error, at most ``max_retries`` more times; then it raises
:class:`~ringfence.exceptions.InvalidOutputError` (never returns an unvalidated answer).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ringfence.exceptions import ConfigError, InvalidOutputError
from ringfence.guards._registry import guard
from ringfence.guards._types import Action, Finding
from ringfence.provenance import Label

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.DOTALL)

REASK_TEMPLATE = (
    "{prompt}\n\nYour previous answer was not valid: {error}\n"
    "Answer again with only the JSON value, matching the required schema."
)


def _load_model(path: str) -> type[BaseModel]:
    module_name, _, attr = path.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot import pydantic model {path!r}: {exc}") from exc
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise ConfigError(f"{path!r} is not a pydantic model class")
    return found


class OutputValidator:
    """Validates a model answer (JSON text, optionally in a code fence) against a JSON schema or a
    pydantic model; :meth:`parse` returns the value or raises :class:`InvalidOutputError`."""

    def __init__(
        self, *, schema: Mapping[str, Any] | None = None, model: type[BaseModel] | None = None
    ) -> None:
        if (schema is None) == (model is None):
            raise ConfigError("give exactly one of schema= or model=")
        self.model = model
        self._validator: jsonschema.protocols.Validator | None = None
        if schema is not None:
            try:
                cls = jsonschema.validators.validator_for(schema)
                cls.check_schema(dict(schema))
            except jsonschema.SchemaError as exc:
                raise ConfigError(f"invalid JSON schema: {exc.message}") from exc
            self._validator = cls(schema)

    def errors(self, text: str) -> list[str]:
        """Why ``text`` is invalid (empty when it is valid)."""
        try:
            self.parse(text)
        except InvalidOutputError as exc:
            return list(exc.errors)
        return []

    def parse(self, text: str) -> Any:
        fenced = _FENCE.match(text)
        raw = fenced.group(1) if fenced else text
        if self.model is not None:
            try:
                return self.model.model_validate_json(raw)
            except ValidationError as exc:
                errors = [
                    f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}"
                    for e in exc.errors(include_url=False)
                ]
                raise InvalidOutputError("the answer does not match the model", errors) from exc
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidOutputError("the answer is not JSON", [f"not JSON: {exc}"]) from exc
        assert self._validator is not None
        problems = sorted(self._validator.iter_errors(value), key=lambda e: list(e.path))
        if problems:
            errors = [f"{'.'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in problems]
            raise InvalidOutputError("the answer does not match the schema", errors)
        return value


def _next_prompt(prompt: str, exc: InvalidOutputError, template: str) -> str:
    return template.format(prompt=prompt, error="; ".join(exc.errors[:5]))


def reask(
    ask: Callable[[str], str],
    prompt: str,
    *,
    schema: Mapping[str, Any] | None = None,
    model: type[BaseModel] | None = None,
    max_retries: int = 2,
    template: str = REASK_TEMPLATE,
) -> Any:
    """Ask, validate, and re-ask with the validation error at most ``max_retries`` times."""
    validator = OutputValidator(schema=schema, model=model)
    errors: list[str] = []
    current = prompt
    for attempt in range(max_retries + 1):
        try:
            return validator.parse(ask(current))
        except InvalidOutputError as exc:
            errors.extend(f"attempt {attempt + 1}: {e}" for e in exc.errors)
            current = _next_prompt(prompt, exc, template)
    raise InvalidOutputError(f"no valid answer after {max_retries + 1} attempts", errors)


async def areask(
    ask: Callable[[str], Awaitable[str]],
    prompt: str,
    *,
    schema: Mapping[str, Any] | None = None,
    model: type[BaseModel] | None = None,
    max_retries: int = 2,
    template: str = REASK_TEMPLATE,
) -> Any:
    """:func:`reask` for an async model call."""
    validator = OutputValidator(schema=schema, model=model)
    errors: list[str] = []
    current = prompt
    for attempt in range(max_retries + 1):
        try:
            return validator.parse(await ask(current))
        except InvalidOutputError as exc:
            errors.extend(f"attempt {attempt + 1}: {e}" for e in exc.errors)
            current = _next_prompt(prompt, exc, template)
    raise InvalidOutputError(f"no valid answer after {max_retries + 1} attempts", errors)


@guard(name="schema")
class SchemaGuard:
    """The output must be JSON matching ``schema`` (a JSON schema) or ``model``
    (``package.module:Class``, a pydantic model)."""

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
        """A JSON schema the answer must match."""
        model: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
        """A pydantic model the answer must match, as ``package.module:Class``."""

        @model_validator(mode="after")
        def _one(self) -> SchemaGuard.Options:
            if (self.json_schema is None) == (self.model is None):
                raise ValueError("give exactly one of 'schema' or 'model'")
            return self

    default_action: ClassVar[Action] = "block"
    inline: bool = True  # bounded CPU work, no I/O: may run in the calling thread
    threshold: float = 0.5

    def __init__(
        self,
        json_schema: Mapping[str, Any] | None = None,
        model: str | type[BaseModel] | None = None,
        **kwargs: Any,
    ) -> None:
        self.name = "schema"
        schema = kwargs.pop("schema", json_schema)
        if kwargs:
            raise ConfigError(f"schema: unknown options {sorted(kwargs)}")
        loaded = _load_model(model) if isinstance(model, str) else model
        self.inline = loaded is None  # a pydantic model may run arbitrary validators
        self.validator = OutputValidator(schema=schema, model=loaded)

    def check(self, text: str, label: Label) -> Sequence[Finding]:
        errors = self.validator.errors(text)
        if not errors:
            return []
        kind = "schema.not_json" if errors[0].startswith("not JSON") else "schema.invalid"
        return [Finding(self.name, kind, 1.0, None, "; ".join(errors[:5]))]
