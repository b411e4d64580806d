"""ApprovalQueue.claim: an approved call is handed out for execution elsewhere exactly once."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from ringfence.approval import ApprovalQueue
from ringfence.audit import read_records, verify_chain
from ringfence.exceptions import ApprovalError
from ringfence.gateway import Gateway
from ringfence.policy import Principal
from ringfence.store import SqliteStore


def _request(gateway: Gateway) -> str:
    session = gateway.session(Principal("cust-1"), "s1", agent="agent-7")
    session.add_content("Please cancel order 4821", source="user")
    result = session.call("cancel_order", {"order_id": "4821"})
    assert result.approval is not None and result.approval.request_id
    return result.approval.request_id


def _executed_events(db: Path, rid: str) -> list[dict]:
    with SqliteStore(db) as store:
        records = list(read_records(store, kinds=["approval"]))
    return [
        r.payload
        for r in records
        if r.payload["request_id"] == rid and r.payload["action"] == "executed"
    ]


def test_claim_hands_an_approved_call_out_once(gateway, queue, effects, db):
    rid = _request(gateway)
    assert queue.claim(rid) == (queue.get(rid), False)  # pending: nothing to claim
    queue.approve(rid, "carol", "ok")
    req, won = queue.claim(rid)
    assert won
    assert (req.state, req.execution) == ("executed", "delegated")
    assert req.args == {"order_id": "4821"}
    again, won_again = queue.claim(rid)
    assert not won_again and again.state == "executed"
    assert not gateway.resume(rid).executed  # claimed: never run here as well
    assert effects.calls == []
    queue.audit.flush()
    events = _executed_events(db, rid)
    assert [e["details"]["execution"] for e in events] == ["delegated"]
    assert verify_chain(db).ok


@pytest.mark.parametrize("final", ["deny", "cancel"])
def test_refused_requests_cannot_be_claimed(gateway, queue, final):
    rid = _request(gateway)
    if final == "deny":
        queue.deny(rid, "carol", "no")
    else:
        queue.cancel(rid, reason="withdrawn")
    req, won = queue.claim(rid, execution="running")
    assert not won and req.state in ("denied", "cancelled") and req.execution is None


def test_claim_of_an_unknown_request_raises(queue):
    with pytest.raises(ApprovalError):
        queue.claim("no-such-request")


def test_concurrent_claims_in_threads_win_once(gateway, queue, db):
    rid = _request(gateway)
    queue.approve(rid, "carol", "ok")
    n = 8
    barrier = threading.Barrier(n)
    wins: list[bool] = []

    def claim() -> None:
        # its own connection, as another worker would have, on the same clock
        with ApprovalQueue(db, clock=queue.clock) as own:
            barrier.wait()
            wins.append(own.claim(rid)[1])

    threads = [threading.Thread(target=claim) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(wins) == [False] * (n - 1) + [True]
    assert len(_executed_events(db, rid)) == 1


def claim_in_process(db: str, rid: str, now: float, start: object, out: object) -> None:
    with ApprovalQueue(db, clock=lambda: now) as queue:  # the test's clock, frozen
        start.wait(30)  # type: ignore[attr-defined]
        out.put(queue.claim(rid)[1])  # type: ignore[attr-defined]


def test_concurrent_claims_in_processes_win_once(gateway, queue, db):
    rid = _request(gateway)
    queue.approve(rid, "carol", "ok")
    queue.audit.flush()
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=claim_in_process, args=(str(db), rid, queue.clock(), start, out))
        for _ in range(3)
    ]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert sorted(results) == [False, False, True]
    assert queue.get(rid).execution == "delegated"
    assert len(_executed_events(db, rid)) == 1
    assert verify_chain(db).ok
