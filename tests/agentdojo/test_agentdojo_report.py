"""The JSON contract of ``ringfence agentdojo`` and the figures it reports."""

from __future__ import annotations

import json

import pytest
from agentdojo_helpers import AGENTDOJO
from click.testing import CliRunner

from ringfence.agentdojo import Outcome, Unit, summarise
from ringfence.agentdojo._operator import ApprovalRecord
from ringfence.cli._app import cli

CONTRACT = {"utility", "utility_with_approvals", "targeted_asr", "approvals_per_task",
            "n_user_tasks", "n_pairs", "per_attack"}  # fmt: skip


def _out(suite, user, injection=None, attack=None, **kw):
    return Outcome(Unit(suite, user, injection, attack), "worst-case", "span", **kw)


def test_figures_from_outcomes():
    approval = ApprovalRecord("send_money", "user", ("payee-known",), None, "approved")
    outs = [
        _out("banking", "u0", utility=False, utility_with_approvals=True, approvals=[approval]),
        _out("banking", "u1", utility=True, utility_with_approvals=True),
        _out("banking", "u0", "i0", "direct", attacked=True, attacked_autonomous=False),
        _out("banking", "u1", "i0", "direct", attacked=False, attacked_autonomous=False),
        _out("banking", "u0", "i0", "injecagent", attacked=False, attacked_autonomous=False),
        _out("slack", "u0", "i1", "direct", error="boom"),
    ]
    figures = summarise(outs, {"modes": ["span"]})
    bank = figures["suites"]["banking"]
    assert set(bank) >= CONTRACT and set(figures["overall"]) >= CONTRACT
    assert (bank["n_user_tasks"], bank["n_pairs"], bank["n_runs"]) == (2, 2, 3)
    assert (bank["utility"], bank["utility_with_approvals"], bank["approvals_per_task"]) == (
        0.5, 1.0, 0.5)  # fmt: skip
    assert bank["targeted_asr"] == 0.3333  # rounded to 4 places
    assert bank["targeted_asr_autonomous"] == 0.0
    assert bank["per_attack"] == {"direct": 0.5, "injecagent": 0.0}
    assert bank["successes"] == ["u0|i0|direct"]
    assert figures["errors"] == 1 and figures["error_examples"][0][0] == "boom"
    assert figures["by_mode"]["span"]["overall"]["n_pairs"] == 2


@AGENTDOJO[1]
@AGENTDOJO[0]
def test_cli_json_contract_on_a_sample(tmp_path):
    rows = tmp_path / "rows.jsonl"
    args = ["agentdojo", "--agent", "worst-case", "--suites", "banking,slack",
            "--user-tasks", "user_task_1,user_task_3", "--injection-tasks",
            "injection_task_1,injection_task_3", "--attack", "direct,injecagent",
            "--mode", "field,span", "--json", "-", "--rows", str(rows)]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert set(figures["suites"]) == {"banking", "slack"} and set(figures["by_mode"]) == {
        "field", "span"}  # fmt: skip
    for section in [*figures["suites"].values(), figures["overall"]]:
        assert set(section) >= CONTRACT
        assert set(section["per_attack"]) == {"direct", "injecagent"}
    assert figures["overall"]["n_pairs"] == 8 and figures["overall"]["n_user_tasks"] == 4
    assert figures["errors"] == 0 and figures["overall"]["targeted_asr"] == 0.0
    lines = [json.loads(line) for line in rows.read_text().splitlines()]
    assert len(lines) == 2 * (4 + 16)
    assert {"utility", "attacked", "approvals", "mode"} <= set(lines[0])


@AGENTDOJO[1]
@AGENTDOJO[0]
def test_cli_reports_bad_input_clearly():
    result = CliRunner().invoke(cli, ["agentdojo", "--suites", "bank", "--quiet"])
    assert result.exit_code == 2 and "unknown suites ['bank']" in result.output
    result = CliRunner().invoke(cli, ["agentdojo", "--agent", "llm", "--quiet"])
    assert result.exit_code == 2 and "needs --model" in result.output
    result = CliRunner().invoke(cli, ["agentdojo", "--attack", "nope", "--quiet"])
    assert result.exit_code == 2 and "unknown attacks" in result.output


def test_a_missing_extra_names_the_install(monkeypatch):
    import sys

    from ringfence.agentdojo import _loader
    from ringfence.exceptions import MissingExtraError

    _loader.dojo.cache_clear()
    for name in [m for m in sys.modules if m.split(".")[0] == "agentdojo"] + ["agentdojo"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed
    try:
        with pytest.raises(MissingExtraError, match=r"pip install 'ringfence\[agentdojo\]'"):
            _loader.dojo()
    finally:
        _loader.dojo.cache_clear()
