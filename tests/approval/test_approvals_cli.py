"""``ringfence approvals``, ``ringfence staged`` and ``ringfence bench approvals``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import approval_helpers
import pytest
from click.testing import CliRunner

from ringfence.cli._app import cli
from ringfence.gateway import Gateway
from ringfence.policy import Principal


@pytest.fixture(autouse=True)
def _real_time(clock):
    clock.now = time.time()  # the CLI runs on the real clock


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _request(gateway: Gateway) -> str:
    s = gateway.session(Principal("cust-1"), "s1", agent="agent-7")
    s.add_content("cancel order 4821", source="user")
    return s.call("cancel_order", {"order_id": "4821"}).approval.request_id


def test_list_show_approve(gateway, queue, db):
    rid = _request(gateway)
    code, out = _run("approvals", "list", "--db", str(db), "--json")
    assert code == 0
    assert [r["id"] for r in json.loads(out)] == [rid]
    code, out = _run("approvals", "show", rid, "--db", str(db))
    assert code == 0
    assert "order_id = '4821'  [trusted]" in out
    assert "[4821]" in out  # the value, highlighted in its source text
    code, out = _run("approvals", "approve", rid, "--db", str(db), "--as", "bob")
    assert code == 1
    assert "needs one of support-lead" in out
    code, out = _run("approvals", "approve", rid, "--db", str(db), "--as", "carol")
    assert code == 0
    assert f"{rid}: approved" in out
    code, out = _run("approvals", "show", rid, "--db", str(db), "--json")
    assert json.loads(out)["trail"][-1]["action"] == "approved"


def test_deny_needs_reason_and_stats(gateway, queue, db, clock):
    rid = _request(gateway)
    code, _ = _run("approvals", "deny", rid, "--db", str(db), "--as", "alice")
    assert code == 2
    code, _ = _run("approvals", "deny", rid, "--db", str(db), "--as", "alice", "--reason", "no")
    assert code == 0
    _request(gateway)
    code, out = _run("approvals", "stats", "--db", str(db), "--json")
    data = json.loads(out)
    assert data["requests"] == 2
    assert data["by_state"]["denied"] == 1
    assert data["top_rules"] == [{"rule": "tool:cancel_order", "requests": 2}]
    code, out = _run("approvals", "stats", "--db", str(db))
    assert code == 0
    assert "median time to decision" in out


def test_tokens_and_approvers(gateway, queue, db):
    code, out = _run("approvals", "token", "create", "--db", str(db), "--approver", "carol")
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert token.startswith("rfa_")
    code, out = _run("approvals", "token", "list", "--db", str(db))
    assert "carol active" in out
    assert token not in out
    token_id = token.split("_")[1]
    code, out = _run("approvals", "token", "revoke", token_id, "--db", str(db))
    assert "revoked" in out
    code, out = _run("approvals", "token", "create", "--db", str(db), "--approver", "nobody")
    assert code == 2
    code, out = _run("approvals", "approvers", "list", "--db", str(db))
    assert "carol roles: support-lead" in out


def test_approvers_sync_from_policy_file(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nname: p\napprovers: {dana: {roles: [x]}}\ntools: {}\n")
    db = tmp_path / "x.db"
    code, out = _run("approvals", "approvers", "sync", "--db", str(db), "--policy", str(policy))
    assert code == 0
    assert "1 approvers active" in out


def test_staged_commit_and_rollback(gateway, db, tmp_path, monkeypatch):
    s = gateway.session(Principal("cust-1"), "s1")
    s.add_content("mail a@example.com and b@example.com", source="user")
    first = s.call("send_email", {"to": "a@example.com"}).output["staged_change"]
    second = s.call("send_email", {"to": "b@example.com"}).output["staged_change"]
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        approval_helpers.POLICY.replace(
            "    stage: true\n    caps:",
            "    stage: true\n    handler: approval_helpers:send_email_handler\n    caps:",
        )
    )
    code, out = _run("staged", "list", "--db", str(db), "--json")
    assert {c["id"] for c in json.loads(out)} == {first, second}
    code, out = _run("staged", "commit", first, "--db", str(db), "--policy", str(policy),
                     "--as", "alice")  # fmt: skip
    assert code == 0, out
    assert "committed" in out
    assert approval_helpers.SENT == ["a@example.com"]
    code, out = _run("staged", "rollback", second, "--db", str(db), "--as", "alice")
    assert "rolled_back" in out
    code, out = _run("staged", "commit", second, "--db", str(db), "--policy", str(policy),
                     "--as", "alice")  # fmt: skip
    assert code == 1
    assert approval_helpers.SENT == ["a@example.com"]


def test_unknown_request_is_a_clear_error(gateway, db):
    code, out = _run("approvals", "show", "nope", "--db", str(db))
    assert code == 1
    assert "no approval request 'nope'" in out


def test_bench_runs_and_prints_json(tmp_path):
    code, out = _run("bench", "approvals", "--n", "3", "--db", str(tmp_path / "b.db"), "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["n"] == 3
    assert set(data["request_to_pending_ms"]) == {"p50", "p90", "p99"}
    assert data["create_decide_per_s"] > 0


@pytest.mark.parametrize("cmd", [["approvals", "--help"], ["staged", "--help"], ["ui", "--help"]])
def test_help(cmd):
    code, out = _run(*cmd)
    assert code == 0
    assert "Usage" in out


def test_policy_rejects_unmeetable_approval(tmp_path: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nname: p\napprovers: {dana: {roles: [x]}}\n"
                      "tools: {t: {effect: approve, approval: {two_person: true}}}\n")  # fmt: skip
    code, out = _run("policy", "check", str(policy))
    assert code == 2
    assert "not enough approvers" in out
