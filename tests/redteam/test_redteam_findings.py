"""Findings to regressions: minimisation, and every success found without the policy comes
back as a case that fails without the policy and passes with it (run through the eval harness
both ways)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ringfence.evals import RunOptions, load_suite, make_target, run_suite
from ringfence.redteam import CampaignResult, ddmin


@given(
    items=st.lists(st.integers(0, 20), min_size=1, max_size=12, unique=True),
    needed=st.sets(st.integers(0, 20), max_size=3),
)
def test_ddmin_keeps_exactly_what_the_test_needs(items: list[int], needed: set[int]) -> None:
    needed &= set(items)

    def test(subset: object) -> bool:
        return needed <= set(subset)  # type: ignore[arg-type]

    kept = ddmin(items, test)
    assert test(kept)
    assert set(kept) == needed or (not needed and len(kept) == 1)


def test_every_success_is_a_regression_or_reported_unresolved(
    unguarded: tuple[CampaignResult, Path],
) -> None:
    result, _ = unguarded
    findings = result.findings
    assert findings is not None
    sources = {s for f in [*findings.regressions, *findings.unresolved] for s in f.sources}
    assert sources == {r["id"] for r in result.successes}
    assert findings.regressions
    assert all(f.chars <= f.original_chars for f in findings.regressions)
    assert any(f.chars < f.original_chars for f in findings.regressions)
    # what the shipped policy does not stop: answers (no output guard) and the a46 pattern
    for f in findings.unresolved:
        assert f.case.tags.count("output-attack") or f.goal == "refund-in-full-context", f.case.id


def test_written_regressions_fail_without_the_policy_and_pass_with_it(
    unguarded: tuple[CampaignResult, Path],
) -> None:
    _, out = unguarded
    suite = load_suite(out / "findings" / "regressions.yaml")
    target = make_target("reference:worst-case")
    without = run_suite(suite, target, RunOptions(policy=None))
    with_policy = run_suite(suite, target, RunOptions(policy="shipped"))
    assert {c.outcome for c in without.cases} == {"complied"}
    assert all(c.attack_success is False for c in with_policy.cases)
    result, _ = unguarded
    assert result.findings is not None
    path = out / "findings" / "unresolved.yaml"
    if not result.findings.unresolved:  # the shipped policy stops every success found
        assert not path.exists()
        return
    again = run_suite(load_suite(path), target, RunOptions(policy="shipped"))
    assert {c.outcome for c in again.cases} == {"complied"}


def test_minimised_cases_drop_mutators_and_filler(unguarded: tuple[CampaignResult, Path]) -> None:
    result, _ = unguarded
    assert result.findings is not None
    originals = {r["id"]: r for r in result.successes}
    for finding in result.findings.regressions:
        record = originals[finding.sources[0]]
        if record["mutators"] and record["strategy"] == "catalogue":
            assert not any(m in finding.case.tags for m in record["mutators"]), finding.case.id
