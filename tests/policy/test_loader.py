"""Policy files: valid ones load, malformed ones are reported with file, line, path and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from ringfence.exceptions import PolicyError
from ringfence.policy import load_policy, parse_duration, policy_from_yaml

MINIMAL = """
version: 1
name: t
tools:
  refund:
    effect: allow
    args:
      amount: {type: number, maximum: 40}
"""


def _problems(text: str, tmp_path: Path, name: str = "p.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return [str(p) for p in info.value.problems]


def test_minimal_policy_loads() -> None:
    policy = policy_from_yaml(MINIMAL)
    assert policy.name == "t"
    assert set(policy.tools) == {"refund"}
    assert [c.rule_id for c in policy.tools["refund"].checks] == [
        "refund.args.amount.type",
        "refund.args.amount.maximum",
    ]
    assert len(policy.digest) == 64


def test_example_policy_loads(policy) -> None:
    assert "refund" in policy.tools
    assert {c.id for c in policy.tools["refund"].caps} == {"refund-daily-total", "refund-rate"}


def test_unknown_key_names_file_line_and_path(tmp_path: Path) -> None:
    text = MINIMAL.replace("maximum: 40", "maximum: 40, maximun: 3")
    (problem,) = _problems(text, tmp_path)
    assert problem.startswith(f"{tmp_path / 'p.yaml'}:line 8 (tools.refund.args.amount.maximun)")
    assert problem.endswith("unknown key")


def test_bad_type_is_reported(tmp_path: Path) -> None:
    (problem,) = _problems(MINIMAL.replace("maximum: 40", "maximum: lots"), tmp_path)
    assert "tools.refund.args.amount.maximum" in problem
    assert "number" in problem


def test_unknown_tool_in_rule_is_reported_with_line(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """
rules:
  - id: r1
    effect: forbid
    tools: [refnud]
    when: {arg: amount, gt: 1}
"""
    )
    (problem,) = _problems(text, tmp_path)
    assert "line 13 (rules.0.tools.0)" in problem
    assert "unknown tool 'refnud'" in problem


def test_unknown_tool_in_top_level_cap(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """
caps:
  - {id: c1, count: true, max: 3, window: 1h, tools: [nope]}
"""
    )
    (problem,) = _problems(text, tmp_path)
    assert "caps.0.tools.0" in problem and "unknown tool 'nope'" in problem


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    text = MINIMAL.replace("effect: allow", "effect: maybe").replace("maximum: 40", "maximum: x")
    problems = _problems(text, tmp_path)
    assert len(problems) == 2


def test_duplicate_rule_ids(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """
    caps:
      - {id: same, count: true, max: 3, window: 1h}
      - {id: same, count: true, max: 5, window: 1d}
"""
    )
    problems = _problems(text, tmp_path)
    assert len(problems) == 2 and all("duplicate rule id 'same'" in p for p in problems)


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    text = MINIMAL + "  refund:\n    effect: deny\n"
    (problem,) = _problems(text, tmp_path)
    assert "duplicate key 'refund'" in problem and "line" in problem


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    (problem,) = _problems("version: 1\nname: [unclosed\n", tmp_path)
    assert ":line " in problem


def test_json_policy_and_json_syntax_error(tmp_path: Path) -> None:
    good = tmp_path / "p.json"
    good.write_text('{"version": 1, "name": "j", "tools": {"a": {"effect": "deny"}}}')
    assert load_policy(good).tools["a"].spec.effect == "deny"
    (problem,) = _problems('{"version": 1,\n "name": }', tmp_path, "bad.json")
    assert "bad.json:line 2" in problem


def test_invalid_regex_is_rejected(tmp_path: Path) -> None:
    (problem,) = _problems(MINIMAL.replace("maximum: 40", 'pattern: "(unclosed"'), tmp_path)
    assert "invalid regular expression" in problem


@pytest.mark.parametrize(
    ("cap", "reason"),
    [
        ("{id: c, max: 3, window: 1h}", "exactly one of"),
        ("{id: c, count: true, sum: amount, max: 3, window: 1h}", "exactly one of"),
        ("{id: c, count: true, max: 3, window: soon}", "invalid duration"),
        ("{id: c, count: true, max: -1, window: 1h}", "greater than or equal to 0"),
    ],
)
def test_bad_caps(tmp_path: Path, cap: str, reason: str) -> None:
    text = MINIMAL + f"    caps:\n      - {cap}\n"
    problems = _problems(text, tmp_path)
    assert any(reason in p for p in problems), problems


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("{arg: amount}", "exactly one operator"),
        ("{arg: amount, gt: 1, lt: 5}", "exactly one operator"),
        ("{gt: 1}", "exactly one of 'arg"),
        ("{principal: roles, origin: [untrusted]}", "arguments only"),
        ("{all: []}", "at least 1"),
    ],
)
def test_bad_conditions(tmp_path: Path, when: str, reason: str) -> None:
    text = MINIMAL + f"rules:\n  - id: r\n    effect: forbid\n    tools: ['*']\n    when: {when}\n"
    problems = _problems(text, tmp_path)
    assert any(reason in p for p in problems), problems


def test_not_a_mapping(tmp_path: Path) -> None:
    (problem,) = _problems("- just\n- a list\n", tmp_path)
    assert "mapping" in problem


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read file"):
        load_policy(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        ("90s", 90.0),
        ("30m", 1800.0),
        ("24h", 86400.0),
        ("7d", 604800.0),
        ("1.5h", 5400.0),
    ],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "-5s", 0, True, "5 parsecs"])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)
