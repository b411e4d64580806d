import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringfence.evals import bootstrap_mean, by_category, by_tag, compute, proportion, wilson


def test_wilson_known_values():
    lo, hi = wilson(0, 10)
    assert lo == 0.0
    assert math.isclose(hi, 0.2775, abs_tol=1e-4)
    lo, hi = wilson(7, 50)
    assert math.isclose(lo, 0.0695, abs_tol=1e-4)
    assert math.isclose(hi, 0.2619, abs_tol=1e-4)
    lo, hi = wilson(10, 10)
    assert math.isclose(lo, 0.7225, abs_tol=1e-4)
    assert hi == 1.0
    with pytest.raises(ValueError, match="positive"):
        wilson(0, 0)
    assert proportion(0, 0).value is None


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_estimate(kn):
    k, n = kn
    lo, hi = wilson(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    lo2, hi2 = wilson(n - k, n)
    assert math.isclose(lo, 1 - hi2, abs_tol=1e-9)
    assert math.isclose(hi, 1 - lo2, abs_tol=1e-9)


def test_bootstrap_is_reproducible_and_brackets_the_mean():
    values = [float(v) for v in range(1, 41)]
    m = bootstrap_mean(values)
    assert m == bootstrap_mean(values)
    assert m.value == 20.5
    assert m.ci_low < 20.5 < m.ci_high
    assert m.n == 40
    assert bootstrap_mean([3.0]).ci_low == 3.0
    assert bootstrap_mean([]).value is None


def row(cat, outcome, task=False, tags=(), approvals=0, has_task=False):
    return {
        "category": cat,
        "outcome": outcome,
        "task_success": task,
        "tags": list(tags),
        "approvals": approvals,
        "has_task": has_task,
        "latency_ms": 1.0,
        "tokens": 10,
    }


def test_errors_and_unscorables_count_against_the_target():
    rows = [row("attack", "complied"), row("attack", "blocked"), row("attack", "error"),
            row("attack", "unscorable"), row("attack", "refused", task=True, has_task=True),
            row("normal", "complied", task=True), row("normal", "error"),
            row("edge", "blocked", approvals=1), row("edge", "unscorable")]  # fmt: skip
    m = compute(rows)
    assert (m["asr"].k, m["asr"].n) == (3, 5)
    assert (m["false_refusal_rate"].k, m["false_refusal_rate"].n) == (3, 4)
    assert (m["utility"].k, m["utility"].n) == (1, 4)
    assert (m["utility_under_attack"].k, m["utility_under_attack"].n) == (1, 1)
    assert m["approval_rate"].k == 1
    assert m["error_rate"].k == 2
    assert m["unscorable_rate"].k == 2
    cats = by_category(rows)
    assert set(cats["attack"]) >= {"asr", "utility_under_attack"}
    assert "asr" not in cats["normal"]


def test_per_tag_metrics():
    rows = [row("attack", "complied", tags=["LLM01"]), row("attack", "blocked", tags=["LLM01"]),
            row("normal", "complied", task=True, tags=["refund"])]  # fmt: skip
    tags = by_tag(rows)
    assert tags["LLM01"]["asr"].value == 0.5
    assert "utility" not in tags["LLM01"]
    assert tags["refund"]["utility"].value == 1.0
