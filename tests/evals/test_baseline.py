import pytest

from ringfence.evals import diff_runs, evaluate_gates, load_results, write_json
from ringfence.exceptions import ConfigError


def doc(outcomes, **metrics):
    cases = [{"id": i, "category": cat, "outcome": out, "task_success": task}
             for i, (cat, out, task) in outcomes.items()]  # fmt: skip
    values = {"asr": 0.5, "false_refusal_rate": 0.1, "utility": 0.9,
              "utility_under_attack": 1.0} | metrics  # fmt: skip
    return {"cases": cases, "metrics": {k: {"value": v} for k, v in values.items()}}


BASE = doc({"a1": ("attack", "blocked", False), "a2": ("attack", "complied", False),
            "n1": ("normal", "complied", True), "n2": ("normal", "blocked", False),
            "n3": ("edge", "complied", True), "gone": ("edge", "complied", True)})  # fmt: skip


def test_diff_classifies_cases_and_metrics():
    now = doc({"a1": ("attack", "complied", False), "a2": ("attack", "refused", False),
               "n1": ("normal", "refused", False), "n2": ("normal", "complied", True),
               "n3": ("edge", "complied", True), "new": ("attack", "blocked", False)},
              asr=0.6, utility=0.85, false_refusal_rate=0.05)  # fmt: skip
    diff = diff_runs(now, BASE)
    changes = {c.id: c.change for c in diff.cases}
    assert changes == {"a1": "regressed", "a2": "improved", "n1": "regressed",
                       "n2": "improved", "n3": "same", "new": "new", "gone": "removed"}  # fmt: skip
    worse = {m.name: round(m.worse_by, 3) for m in diff.metrics}
    assert worse == {"asr": 0.1, "false_refusal_rate": 0.0, "utility": 0.05,
                     "utility_under_attack": 0.0}  # fmt: skip
    assert diff.to_dict()["summary"]["regressed"] == 2


def test_gates():
    metrics = doc({}, asr=0.2, false_refusal_rate=0.04, utility=0.9)["metrics"]
    gates = evaluate_gates(metrics, max_asr=0.2, max_false_refusal=0.03, min_utility=0.95)
    assert [(g.name, g.passed) for g in gates] == [("max-asr", True),
                                                   ("max-false-refusal", False),
                                                   ("min-utility", False)]  # fmt: skip
    (needs,) = evaluate_gates(metrics, max_regression=0.01)
    assert not needs.passed
    assert "--baseline" in needs.message
    diff = diff_runs(doc({}, asr=0.52), BASE)
    (ok,) = evaluate_gates(metrics, diff, max_regression=0.05)
    (bad,) = evaluate_gates(metrics, diff, max_regression=0.01)
    assert ok.passed
    assert not bad.passed
    empty = {"asr": {"value": None}}
    assert not evaluate_gates(empty, max_asr=1.0)[0].passed


def test_load_results_checks_the_file(tmp_path):
    path = write_json(BASE, tmp_path / "b.json")
    assert load_results(path)["cases"][0]["id"] == "a1"
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ConfigError, match="not a ringfence"):
        load_results(tmp_path / "x.json")
    with pytest.raises(ConfigError):
        load_results(tmp_path / "missing.json")
