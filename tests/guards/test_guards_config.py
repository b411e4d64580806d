"""The policy's ``guards:`` section: validation with located errors, building pipelines."""

from __future__ import annotations

import pytest

from ringfence.exceptions import PolicyError
from ringfence.guards import GuardsSpec, build_pipeline, default_guards
from ringfence.policy import policy_from_yaml

BASE = """
version: 1
name: t
tools:
  noop: {effect: allow}
"""


def policy(guards: str):
    return policy_from_yaml(BASE + guards, source="p.yaml")


def test_a_policy_without_guards_has_none_and_keeps_its_digest():
    plain = policy_from_yaml(BASE)
    assert plain.spec.guards is None
    assert "guards" not in plain.spec.model_dump(mode="json", by_alias=True)
    with_guards = policy("guards: {output: []}\n")
    assert with_guards.digest != plain.digest


def test_full_section_parses(fake_detector):
    p = policy(
        """
guards:
  deadline_ms: 100
  refusal_template: "Nope."
  input:
    - use: size
      with: {max_chars: 100}
    - use: injection
      with: {fpr: 0.01}
      low_confidence: {above: 0.5, action: refuse}
  untrusted:
    - {use: injection, id: inj, action: flag, low_confidence: {above: 0.4, action: approve}}
  output:
    - {use: secrets, action: redact}
    - {use: pii, action: redact, on_error: flag}
"""
    )
    spec = p.spec.guards
    assert isinstance(spec, GuardsSpec)
    assert spec.input is not None
    assert spec.input[1].low_confidence is not None
    with build_pipeline(p) as pipeline:
        assert pipeline.guards("input") == ["size", "injection"]
        assert pipeline.guards("untrusted") == ["inj"]
        assert pipeline.guards("output") == ["secrets", "pii"]
        assert pipeline.deadline_s == pytest.approx(0.1)
        assert pipeline.guard("input", "injection").threshold == 0.9  # from fpr 0.01
        result = pipeline.run("x" * 101)
        assert result.verdict == "block"


def test_absent_directions_get_defaults_and_empty_lists_none(fake_detector):
    with build_pipeline(policy("guards: {output: []}\n")) as pipeline:
        assert pipeline.guards("output") == []
        assert pipeline.guards("input") == [s.name for s in default_guards().input or []]


@pytest.mark.parametrize(
    ("section", "where", "why"),
    [
        ("guards: {input: [{use: nope}]}", "guards.input.0", "unknown guard 'nope'"),
        ("guards: {input: [{use: size, with: {max_chars: -1}}]}", "guards.input.0", "max_chars"),
        ("guards: {input: [{use: size, with: {colour: red}}]}", "guards.input.0", "unknown option"),
        ("guards: {input: [{use: size, action: redact}]}", "guards.input.0", "cannot redact"),
        ("guards: {input: [{use: size, action: explode}]}", "guards.input.0.action", "Input"),
        ("guards: {input: [{use: size, threshold: 0.5, low_confidence: {above: 0.7}}]}",
         "guards.input.0", "below the threshold"),
        ("guards: {input: [{use: size}, {use: size}]}", "guards", "unique"),
        ("guards: {deadline_ms: 0}", "guards.deadline_ms", "greater than 0"),
        ("guards: {input: [{use: size, on_error: ignore}]}", "guards.input.0.on_error", "Input"),
        ("guards: {sideways: []}", "guards.sideways", "unknown key"),
    ],
)  # fmt: skip
def test_bad_sections_are_located(section, where, why):
    with pytest.raises(PolicyError) as info:
        policy(section + "\n")
    text = str(info.value)
    assert "p.yaml:line" in text
    assert where in text
    assert why in text


def test_build_pipeline_without_a_detector_fails_loudly(monkeypatch):
    from ringfence.exceptions import ConfigError
    from ringfence.guards import _injection

    def missing(weights):
        raise ConfigError("no detector")

    monkeypatch.setattr(_injection, "_DETECTORS", {})
    monkeypatch.setattr(_injection, "_load", missing)
    with pytest.raises(ConfigError, match="no detector"):
        build_pipeline(None)


def test_isolate_is_passed_to_the_pipeline():
    spec = GuardsSpec.model_validate({"isolate": True, "input": [{"use": "size"}],
                                      "untrusted": [], "output": []})  # fmt: skip
    with build_pipeline(spec) as pipeline:
        assert all(not r.inline for r in pipeline._runners["input"])
    with build_pipeline(GuardsSpec.model_validate({"input": [{"use": "size"}], "untrusted": [],
                                                   "output": []})) as pipeline:  # fmt: skip
        assert all(r.inline for r in pipeline._runners["input"])
