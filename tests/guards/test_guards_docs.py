"""docs/guards.md matches the code (its Python examples run in tests/test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ringfence.policy import policy_from_data

DOC = Path(__file__).resolve().parents[2] / "docs" / "guards.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.DOTALL)


def test_the_yaml_example_is_a_valid_guards_section(fake_detector):
    (section,) = blocks("yaml")
    data = {"version": 1, "name": "docs", **yaml.safe_load(section)}
    policy = policy_from_data(data, "docs/guards.md")
    assert policy.spec.guards is not None


def test_every_built_in_guard_is_documented():
    text = DOC.read_text()
    for name in ("size", "unicode", "encoding", "injection", "schema", "allowlist", "canary",
                 "secrets", "pii", "exfil", "refusal"):  # fmt: skip
        assert f"| `{name}` |" in text
