"""An approval stays good for ``execute_within`` after the decision; an approved call not
executed (resumed or claimed) by then expires instead, and never runs."""

from __future__ import annotations

import pytest

from ringfence.approval import ApprovalQueue
from ringfence.approval._queue import settings_for
from ringfence.audit import read_records
from ringfence.gateway import Gateway
from ringfence.policy import Principal, policy_from_yaml
from ringfence.store import SqliteStore


def _approved(gateway: Gateway, queue: ApprovalQueue) -> str:
    session = gateway.session(Principal("cust-1"), "s1", agent="agent-7")
    session.add_content("Please cancel order 4821", source="user")
    result = session.call("cancel_order", {"order_id": "4821"})
    assert result.approval is not None and result.approval.request_id
    rid = result.approval.request_id
    assert queue.approve(rid, "carol", "customer asked").state == "approved"
    return rid


def test_an_approval_lapses_after_a_day_by_default(gateway, queue, effects, clock, store):
    rid = _approved(gateway, queue)
    assert queue.get(rid).execute_within == pytest.approx(86400)
    clock.advance(86400)
    result = gateway.resume(rid)
    assert not result.executed and effects.calls == []
    req = queue.get(rid)
    assert req.state == "expired"
    assert req.decided_by == ("carol",) and req.reason == "customer asked"  # kept on record
    queue.audit.flush()
    actions = [
        (r.payload["action"], r.payload["reason"])
        for r in read_records(store, kinds=["approval"])
        if r.payload["request_id"] == rid
    ]
    assert actions[-1] == ("expired", "approved but not executed within 86400 s")


def test_within_the_window_it_runs(gateway, queue, effects, clock):
    rid = _approved(gateway, queue)
    clock.advance(86399)
    assert gateway.resume(rid).executed
    assert effects.calls == [("cancel_order", {"order_id": "4821"})]


def test_a_claim_after_the_window_loses(gateway, queue, clock):
    rid = _approved(gateway, queue)
    clock.advance(90000)
    req, won = queue.claim(rid)
    assert not won and req.state == "expired" and req.execution is None


def test_expire_due_sweeps_lapsed_approvals(gateway, queue, clock):
    rid = _approved(gateway, queue)
    assert queue.expire_due() == []
    clock.advance(86400)
    assert queue.expire_due() == [rid]


def test_the_shortest_window_applies_and_null_means_no_limit(tmp_path):
    policy = policy_from_yaml(
        """
version: 1
name: lapse
approval:
  execute_within: 2h
  rules:
    big: {execute_within: 10m}
tools:
  wire: {effect: approve, approval: {execute_within: null}}
  refund: {effect: approve}
rules:
  - {id: big, effect: approve, tools: [wire, refund], when: {arg: amount, gt: 100}}
"""
    )
    assert settings_for(policy, "refund", ()).execute_within_s == 7200
    assert settings_for(policy, "refund", ("big",)).execute_within_s == 600
    assert settings_for(policy, "wire", ()).execute_within_s is None
    assert settings_for(policy, "wire", ("big",)).execute_within_s == 600


def test_requests_stored_before_the_column_existed_never_lapse(gateway, queue, clock, db):
    rid = _approved(gateway, queue)
    with SqliteStore(db) as store, store.write() as conn:
        conn.execute("UPDATE approval_requests SET execute_within = NULL WHERE id = ?", (rid,))
    clock.advance(10 * 86400)
    assert queue.expire_due() == []
    assert queue.get(rid).state == "approved"
