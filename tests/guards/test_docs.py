"""The examples in docs/guards.md run (so the docs cannot drift from the code)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ringfence.guards import _registry, registered_guards
from ringfence.policy import policy_from_data

DOC = Path(__file__).resolve().parents[2] / "docs" / "guards.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.DOTALL)


def test_the_yaml_example_is_a_valid_guards_section(fake_detector):
    (section,) = blocks("yaml")
    data = {"version": 1, "name": "docs", **yaml.safe_load(section)}
    policy = policy_from_data(data, "docs/guards.md")
    assert policy.spec.guards is not None


def test_the_python_examples_run(fake_detector):
    def model(prompt: str) -> str:
        if "<EMAIL_1>" in prompt:
            return "I wrote to <EMAIL_1>."
        return '{"city": "Oslo"}'

    namespace = {"model": model, "SCHEMA": {"type": "object", "required": ["city"]}}
    _, redact_example, extending = blocks("python")
    exec(redact_example, namespace)
    assert namespace["trip"] == {"city": "Oslo"}
    try:
        exec(extending, namespace)
        assert "no-competitors" in registered_guards()
        guard = namespace["NoCompetitors"]()
        assert guard.check("Try ACME Corp instead", None)[0].span == (4, 13)
    finally:
        _registry._REGISTRY.pop("no-competitors", None)


def test_every_built_in_guard_is_documented():
    text = DOC.read_text()
    for name in ("size", "unicode", "encoding", "injection", "schema", "allowlist", "canary",
                 "secrets", "pii", "exfil", "refusal"):  # fmt: skip
        assert f"| `{name}` |" in text
