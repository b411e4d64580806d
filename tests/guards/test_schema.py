"""Structured output validation and the bounded re-ask loop."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from ringfence.exceptions import ConfigError, InvalidOutputError
from ringfence.guards import OutputValidator, SchemaGuard, areask, create_guard, reask
from ringfence.provenance import Label

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city", "days"],
    "additionalProperties": False,
}
OUT = Label("assistant", False)


class Trip(BaseModel):
    city: str
    days: int


def test_validator_accepts_valid_json_and_code_fences():
    v = OutputValidator(schema=SCHEMA)
    assert v.parse('{"city": "Oslo", "days": 3}') == {"city": "Oslo", "days": 3}
    assert v.parse('```json\n{"city": "Oslo", "days": 3}\n```')["city"] == "Oslo"
    assert OutputValidator(model=Trip).parse('{"city": "Oslo", "days": 3}') == Trip(
        city="Oslo", days=3
    )


def test_validator_explains_what_is_wrong():
    v = OutputValidator(schema=SCHEMA)
    assert v.errors("not json")[0].startswith("not JSON")
    assert v.errors('{"city": "Oslo", "days": 0}') == ["days: 0 is less than the minimum of 1"]
    assert "days" in OutputValidator(model=Trip).errors('{"city": "Oslo"}')[0]


def test_bad_configuration():
    with pytest.raises(ConfigError):
        OutputValidator()
    with pytest.raises(ConfigError):
        OutputValidator(schema={"type": "nonsense"})
    with pytest.raises(ConfigError):
        create_guard("schema", {"model": "no.such.module:Thing"})


def test_reask_retries_with_the_error_and_stops_at_the_limit():
    prompts: list[str] = []
    answers = iter(["sure!", '{"city": "Oslo"}', '{"city": "Oslo", "days": 2}'])

    def model(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    assert reask(model, "Plan a trip", schema=SCHEMA) == {"city": "Oslo", "days": 2}
    assert len(prompts) == 3
    assert "not JSON" in prompts[1]
    assert "'days' is a required property" in prompts[2]

    calls = []

    def stubborn(prompt: str) -> str:
        calls.append(prompt)
        return "no"

    with pytest.raises(InvalidOutputError) as info:
        reask(stubborn, "Plan", model=Trip, max_retries=1)
    assert len(calls) == 2
    assert info.value.errors[0].startswith("attempt 1:")


def test_areask():
    async def model(prompt: str) -> str:
        return '{"city": "Rome", "days": 1}'

    assert asyncio.run(areask(model, "Plan", model=Trip)) == Trip(city="Rome", days=1)


def test_guard_flags_invalid_output():
    guard = create_guard("schema", {"schema": SCHEMA})
    assert isinstance(guard, SchemaGuard)
    assert guard.check('{"city": "Oslo", "days": 3}', OUT) == []
    assert [f.kind for f in guard.check("hello", OUT)] == ["schema.not_json"]
    assert [f.kind for f in guard.check('{"city": 1, "days": 3}', OUT)] == ["schema.invalid"]
    by_model = create_guard("schema", {"model": "ringfence.guards._config:LowConfidenceSpec"})
    assert by_model.check('{"above": 0.5}', OUT) == []
    assert [f.kind for f in by_model.check('{"above": 7}', OUT)] == ["schema.invalid"]
