"""Staged changes (commit re-checks policy and caps; rollback) and soft deletes."""

from __future__ import annotations

import pytest

from ringfence.approval import SoftDeletes, StagingArea
from ringfence.audit import read_records
from ringfence.exceptions import ApprovalError
from ringfence.gateway import Gateway
from ringfence.policy import Principal, policy_from_yaml


def _stage(gateway: Gateway, to: str = "ann@example.com") -> str:
    session = gateway.session(Principal("cust-1"), "s1")
    session.add_content(f"mail {to} please", source="user")
    result = session.call("send_email", {"to": to, "body": "hello"})
    assert not result.executed
    assert "staged" in result.message
    return result.output["staged_change"]


def test_staged_call_is_recorded_not_executed(gateway, effects):
    change_id = _stage(gateway)
    change = gateway.staging.get(change_id)
    assert change.state == "staged"
    assert change.args == {"to": "ann@example.com", "body": "hello"}
    assert change.provenance["to"]["status"] == "trusted"
    assert effects.calls == []


def test_commit_executes_once(gateway, effects):
    change_id = _stage(gateway)
    result = gateway.staging.commit(gateway, change_id, actor="alice")
    assert result.executed
    assert result.output == "sent to ann@example.com"
    with pytest.raises(ApprovalError, match="committed"):
        gateway.staging.commit(gateway, change_id, actor="alice")
    assert effects.calls == [("send_email", {"to": "ann@example.com", "body": "hello"})]
    assert gateway.staging.get(change_id).outcome == "ran"


def test_rollback_never_executes(gateway, effects):
    change_id = _stage(gateway)
    assert gateway.staging.rollback(change_id, actor="alice", reason="typo").state == "rolled_back"
    with pytest.raises(ApprovalError, match="rolled_back"):
        gateway.staging.commit(gateway, change_id, actor="alice")
    with pytest.raises(ApprovalError):
        gateway.staging.rollback(change_id)
    assert effects.calls == []


def test_commit_rechecks_caps(gateway, effects):
    first, second, third = (_stage(gateway, f"p{i}@example.com") for i in range(3))
    # staging does not use the cap (mail-rate: 2 per hour): three changes are staged
    assert gateway.staging.commit(gateway, first).executed
    assert gateway.staging.commit(gateway, second).executed
    refused = gateway.staging.commit(gateway, third)
    assert not refused.executed
    assert "usage limit" in refused.message
    assert gateway.staging.get(third).state == "staged"  # may be retried or rolled back
    assert len(effects.calls) == 2


def test_commit_rechecks_the_policy(gateway, store, clock, effects):
    change_id = _stage(gateway)
    closed = policy_from_yaml("version: 1\nname: p\ntools: {send_email: {effect: deny}}")
    gw2 = Gateway(closed, store=store, staging=gateway.staging, clock=clock)
    effects.add_tools(gw2)
    result = gateway.staging.commit(gw2, change_id)
    assert not result.executed
    assert result.decision == "deny"
    assert effects.calls == []
    gw2.audit.flush()
    actions = [r.payload["action"] for r in read_records(store, kinds=["staged"])]
    assert actions == ["staged", "refused"]


def test_approved_then_staged_commit_accepts_the_cleared_rule(gateway, queue, effects):
    s = gateway.session(Principal("cust-1"), "s1")
    rid = s.call("send_email_approved", {"to": "x@example.com"}).approval.request_id
    queue.approve(rid, "alice")
    staged = gateway.resume(rid)
    assert not staged.executed
    assert queue.get(rid).execution == "staged"
    change_id = staged.output["staged_change"]
    assert gateway.staging.get(change_id).cleared_rules == ("tool:send_email_approved",)
    assert gateway.staging.commit(gateway, change_id).executed
    assert effects.calls == [("send_email_approved", {"to": "x@example.com"})]


def test_staged_tool_without_staging_fails_closed(policy, store, clock, effects):
    gw = Gateway(policy, store=store, clock=clock)
    effects.add_tools(gw)
    result = gw.session("cust-1", "s1").call("send_email", {"to": "a@example.com"})
    assert not result.executed
    assert result.decision == "error"
    assert effects.calls == []


def test_staging_that_fails_never_executes(policy, store, clock, effects):
    class Broken:
        def stage(self, session, proposal):
            raise RuntimeError("disk full")

    gw = Gateway(policy, store=store, clock=clock, staging=Broken())
    effects.add_tools(gw)
    result = gw.session("cust-1", "s1").call("send_email", {"to": "a@example.com"})
    assert result.decision == "error"
    assert effects.calls == []


def test_soft_delete_and_restore(store, clock):
    soft = SoftDeletes(store, clock=clock)
    delete = soft.tool("ticket", describe=lambda rid: {"title": f"ticket {rid}"})
    gw = Gateway(
        policy_from_yaml("version: 1\nname: p\ntools: {delete_ticket: {effect: allow}}"),
        store=store,
        clock=clock,
    )
    gw.add_function(delete, name="delete_ticket")
    result = gw.session("u", "s").call("delete_ticket", {"resource_id": "T-1"})
    assert result.output == {"deleted": "T-1", "kind": "ticket", "restorable": True}
    assert soft.is_deleted("ticket", "T-1")
    assert soft.get("ticket", "T-1").data == {"title": "ticket T-1"}
    assert soft.restore("ticket", "T-1", actor="alice")
    assert not soft.restore("ticket", "T-1")
    assert not soft.is_deleted("ticket", "T-1")
    soft.delete("ticket", "T-2")
    clock.advance(100)
    gone: list[str] = []
    assert soft.purge("ticket", 50, gone.append) == ["T-2"]
    assert gone == ["T-2"]
    assert soft.list_deleted("ticket") == []
    soft.audit.flush()
    actions = [r.payload["action"] for r in read_records(store, kinds=["staged"])]
    assert actions == ["soft_deleted", "restored", "soft_deleted", "purged"]


def test_staging_area_owns_a_path_store(tmp_path):
    with StagingArea(tmp_path / "s.db") as area:
        assert area.list_changes() == []
