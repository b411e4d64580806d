"""The CLI contract other checks depend on: exit codes and output formats."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from ringfence.cli._app import cli

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "examples" / "support_desk" / "policy.yaml"
TRACE = ROOT / "examples" / "support_desk" / "trace.jsonl"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_policy_check_ok() -> None:
    code, out, _ = run("policy", "check", str(POLICY))
    assert code == 0 and out.startswith("ok: policy 'support-desk-example'")


def test_policy_check_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\ntools:\n  t: {effect: sometimes}\n")
    code, _, err = run("policy", "check", str(bad))
    assert code == 2
    assert f"error: {bad}:line 4 (tools.t.effect)" in err
    code, out, _ = run("policy", "check", "--json", str(bad))
    assert code == 2 and json.loads(out)["ok"] is False


def test_policy_rules_lists_ids() -> None:
    code, out, _ = run("policy", "rules", str(POLICY))
    assert code == 0 and "refund-daily-total" in out and "refund.args.amount.maximum" in out


def test_replay_prints_one_json_line_per_call(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    code, out, _ = run("replay", "--policy", str(POLICY), "--db", str(db), str(TRACE))
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 9
    assert all({"tool", "decision", "reasons", "rules"} <= set(r) for r in rows)
    assert {r["decision"] for r in rows} == {"allow", "deny", "approve"}
    code, out, _ = run("audit", "verify", "--db", str(db))
    assert code == 0 and out.startswith("ok:")


def test_replay_malformed_trace_exits_2(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"type": "call"}\n')
    code, _, err = run("replay", "--policy", str(POLICY), str(trace))
    assert code == 2 and "line 1" in err


def test_audit_verify_exit_codes(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    run("replay", "--policy", str(POLICY), "--db", str(db), str(TRACE))
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER audit_events_no_update")
    conn.execute("UPDATE audit_events SET payload = '{}' WHERE seq = 3")
    conn.commit()
    conn.close()
    code, out, _ = run("audit", "verify", "--db", str(db))
    assert code == 1 and "record 3" in out
    code, out, _ = run("audit", "verify", "--db", str(db), "--json")
    assert code == 1 and json.loads(out)["first_bad_seq"] == 3
    code, _, err = run("audit", "verify", "--db", str(tmp_path / "missing.db"))
    assert code == 2 and "cannot read" in err


def test_audit_tail(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    run("replay", "--policy", str(POLICY), "--db", str(db), str(TRACE))
    code, out, _ = run("audit", "tail", "--db", str(db), "-n", "3", "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(records) == 3
    assert records[0]["seq"] < records[-1]["seq"]
    code, out, _ = run("audit", "tail", "--db", str(db), "--kind", "decision")
    assert code == 0 and out.count("decision") >= 9


def test_cli_reference_doc_is_up_to_date() -> None:
    from ringfence.cli._docs import render

    assert (ROOT / "docs" / "cli.md").read_text() == render(), "run `make docs`"


def test_policy_and_event_references_are_up_to_date() -> None:
    from ringfence.audit._reference import render as events
    from ringfence.policy._reference import render as policy

    assert (ROOT / "docs" / "policy-reference.md").read_text() == policy(), "run `make docs`"
    assert (ROOT / "docs" / "audit-events.md").read_text() == events(), "run `make docs`"


def test_every_event_module_is_in_the_reference() -> None:
    from ringfence.audit._reference import EVENT_MODULES

    src = ROOT / "src"
    defining = {
        ".".join(p.relative_to(src).with_suffix("").parts)
        for p in src.rglob("*.py")
        if re.search(r"^@event_kind$", p.read_text(), re.MULTILINE)
    }
    assert defining <= set(EVENT_MODULES), f"add to EVENT_MODULES: {defining - set(EVENT_MODULES)}"
