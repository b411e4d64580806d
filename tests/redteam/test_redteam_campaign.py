"""Campaigns: the issue's figures on a small budget, determinism, resume, budget, catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ringfence.exceptions import CatalogueError, ConfigError
from ringfence.redteam import (
    CampaignConfig,
    CampaignResult,
    load_catalogue,
    load_config,
    load_goals,
    read_log,
    run_campaign,
)

FAST = {"strategies": ["pair"], "minimise": False, "check_policy": None}


def test_unguarded_campaign_succeeds_in_every_channel(
    unguarded: tuple[CampaignResult, Path],
) -> None:
    result, _ = unguarded
    channels = {c.channel for c in load_catalogue().carriers}
    assert {r["channel"] for r in result.successes} == channels
    assert all(r["outcome"] == "complied" for r in result.executed)  # worst case obeys all


def test_guarded_campaign_stops_tool_actions_except_trusted_values(
    guarded: tuple[CampaignResult, Path],
) -> None:
    result, _ = guarded
    tool = [r for r in result.executed if r["goal_kind"] == "tool-action"]
    assert len(tool) > 30
    leaked = {r["goal"] for r in tool if r["success"]}
    # the known gap (eval case a46): only the decision is the attacker's, every value is trusted
    assert leaked <= {"refund-in-full-context"}
    blocked = [r for r in tool if not r["success"]]
    assert blocked and all(r["outcome"] == "blocked" for r in blocked)


def test_invalid_attempts_are_logged_not_run(unguarded: tuple[CampaignResult, Path]) -> None:
    result, _ = unguarded
    invalid = [r for r in result.records if r["status"] == "invalid"]
    assert invalid
    assert all("outcome" not in r and not r["success"] for r in invalid)


def _ids(result: CampaignResult) -> list[tuple[str, str, bool]]:
    return [(r["id"], r["status"], bool(r.get("success"))) for r in result.records]


def test_same_seed_same_attempts_other_seed_other_order(tmp_path: Path) -> None:
    a = run_campaign(CampaignConfig(budget=25, seed=3, **FAST), tmp_path / "a")
    b = run_campaign(CampaignConfig(budget=25, seed=3, **FAST), tmp_path / "b")
    c = run_campaign(CampaignConfig(budget=25, seed=4, **FAST), tmp_path / "c")
    assert _ids(a) == _ids(b)
    assert [r["case"] for r in a.records] == [r["case"] for r in b.records]
    assert [r["id"] for r in a.records] != [r["id"] for r in c.records]
    assert len(a.executed) == 25


def test_resume_skips_logged_attempts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "camp"
    config = CampaignConfig(budget=20, **FAST)
    first = run_campaign(config, out)
    full = run_campaign(config.model_copy(update={"budget": 40}), tmp_path / "fresh")
    from ringfence.evals import CaseRunner

    runs: list[str] = []
    original = CaseRunner.run

    def counting(self: CaseRunner, case, **kw):  # type: ignore[no-untyped-def]
        runs.append(case.id)
        return original(self, case, **kw)

    monkeypatch.setattr(CaseRunner, "run", counting)
    resumed = run_campaign(load_config(out).model_copy(update={"budget": 40}), out)
    assert _ids(resumed) == _ids(full)
    assert not set(runs) & {r["id"] for r in first.executed}
    assert len(read_log(out / "attempts.jsonl")) == len({r["id"] for r in resumed.records})


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    out = tmp_path / "camp"
    run_campaign(CampaignConfig(budget=5, **FAST), out)
    log = out / "attempts.jsonl"
    log.write_text(log.read_text() + '{"id": "rt-tor', encoding="utf-8")
    assert len(read_log(log)) >= 5
    log.write_text('{"id": "x"\n' + log.read_text(), encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1"):
        read_log(log)


def test_other_settings_in_the_same_directory_are_refused(tmp_path: Path) -> None:
    run_campaign(CampaignConfig(budget=3, **FAST), tmp_path)
    with pytest.raises(ConfigError, match="other settings"):
        run_campaign(CampaignConfig(budget=3, seed=9, **FAST), tmp_path)


def test_progress_is_reported_per_run(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    run_campaign(
        CampaignConfig(budget=6, **FAST),
        tmp_path,
        progress=lambda done, total, record: seen.append((done, total)),
    )
    assert [d for d, _ in seen] == list(range(1, 7))


def test_filters_and_unknown_goal(tmp_path: Path) -> None:
    result = run_campaign(
        CampaignConfig(budget=8, goal_ids=["leak-prompt"], channels=["email"], **FAST),
        tmp_path / "x",
    )
    assert {(r["goal"], r["channel"]) for r in result.records} == {("leak-prompt", "email")}
    with pytest.raises(ConfigError, match="unknown goal"):
        run_campaign(CampaignConfig(goal_ids=["nope"], **FAST), tmp_path / "y")


def test_catalogue_entries_carry_owasp_ids_and_techniques() -> None:
    catalogue = load_catalogue()
    families = {f.family for f in catalogue.framings}
    assert {"direct-jailbreak", "indirect-injection", "prompt-extraction"} <= families
    techniques = {f.technique for f in catalogue.framings} | {
        c.technique for c in catalogue.carriers
    }
    for needed in (
        "role-play-persona",
        "fiction",
        "hypothetical",
        "authority-claim",
        "refusal-suppression",
        "prefix-injection",
        "hidden-html",
        "css-hidden",
        "system-prompt-extraction",
        "poisoned-document",
        "carrier-status",
    ):
        assert needed in techniques
    for item in [*catalogue.framings, *catalogue.carriers]:
        assert item.owasp, item.id
    goal_tags = {t for g in load_goals().goals for t in g.tags}
    assert {"LLM02", "LLM05", "LLM06", "LLM07", "ASI01", "ASI02", "ASI03"} <= goal_tags
    assert {
        "cap-splitting",
        "privilege-abuse",
        "exfil-email",
        "exfil-url",
        "exfil-markdown-image",
        "exfil-link",
    } <= goal_tags


def test_bad_goals_file_names_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "goals.yaml"
    bad.write_text(
        "version: 1\ngoals:\n  - id: g1\n    kind: tool-action\n    instruction: x\n"
        "    expect: {action: refund, colour: red}\n    safety: {}\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError) as err:
        load_goals(bad)
    text = str(err.value)
    assert "goals.yaml:line 6" in text and "expect.colour" in text and "unknown key" in text
    assert "safety checks" in text


def test_campaign_settings_round_trip(tmp_path: Path) -> None:
    run_campaign(CampaignConfig(budget=2, **FAST), tmp_path)
    saved = json.loads((tmp_path / "campaign.json").read_text())
    assert saved["budget"] == 2 and load_config(tmp_path).budget == 2
    with pytest.raises(ConfigError, match="no campaign"):
        load_config(tmp_path / "missing")


def broken_agent(agent: object) -> str:
    raise RuntimeError("the agent crashed")


def test_a_failing_target_is_an_error_never_a_finding(tmp_path: Path) -> None:
    config = CampaignConfig(
        target=f"python:{__name__}:broken_agent", budget=6, attacker=None, check_policy=None
    )
    result = run_campaign(config, tmp_path)
    assert result.executed and {r["outcome"] for r in result.executed} == {"error"}
    assert not result.successes
    assert result.findings is not None and not result.findings.regressions
    from ringfence.redteam import campaign_doc

    assert campaign_doc(result)["summary"]["overall"]["errors"] == len(result.executed)
