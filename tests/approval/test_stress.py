"""Several agents and approvers in separate processes hammer one SQLite file: no approved call
executes twice, no denied, expired or cancelled call executes, and the audit chain holds."""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter

import pytest
from approval_stress import agent, approver, effects_of

from ringfence.approval import ApprovalQueue
from ringfence.audit import read_records, verify_chain
from ringfence.store import SqliteStore

pytestmark = pytest.mark.slow

AGENTS, APPROVERS, REQUESTS, SECONDS = 3, 3, 25, 6.0


def test_no_double_or_forbidden_execution_across_processes(tmp_path, record_property):
    db, effects = tmp_path / "stress.db", tmp_path / "effects.log"
    SqliteStore(db).close()  # create the schema once, before the workers race
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=agent, args=(str(db), str(effects), f"A{i}", REQUESTS, i))
        for i in range(AGENTS)
    ] + [
        ctx.Process(target=approver, args=(str(db), str(effects), name, SECONDS, 100 + i))
        for i, name in enumerate(["alice", "bob", "carol"][:APPROVERS])
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0, f"{p.name} exited with {p.exitcode}"

    ran = effects_of(effects)
    with ApprovalQueue(db) as queue:
        queue.expire_due()
        reqs = queue.list_requests(limit=10_000)
        by_key = {r.args["call_id"]: r for r in reqs}
        trails = {r.id: [t.action for t in queue.transitions(r.id)] for r in reqs}
        votes = {r.id: queue.votes(r.id) for r in reqs}

    counts = Counter(ran)
    assert all(n == 1 for n in counts.values()), f"executed twice: {counts.most_common(3)}"
    for key in counts:
        req = by_key[key]
        assert req.state == "executed", (key, req.state)
        assert "approved" in trails[req.id]
        assert not {"denied", "expired", "cancelled"} & set(trails[req.id])
        approvals = {v.approver for v in votes[req.id] if v.decision == "approve"}
        assert len(approvals) >= (2 if req.two_person else 1)
    for req in reqs:
        if req.state in ("denied", "expired", "cancelled", "pending", "approved"):
            assert req.args["call_id"] not in counts, (req.id, req.state)
        if req.state == "executed" and req.execution == "ran":
            assert counts[req.args["call_id"]] == 1

    states = Counter(r.state for r in reqs)
    report = {"requests": len(reqs), "executions": len(ran), **dict(states)}
    tallies = [json.loads((tmp_path / f"A{i}.json").read_text()) for i in range(AGENTS)]
    report["resume_calls"] = sum(t["resumes"] for t in tallies)
    report["resumes_that_executed"] = sum(t["executed"] for t in tallies)
    with SqliteStore(db) as store:
        report["audit_events"] = sum(1 for _ in read_records(store))
    print(f"\napproval stress: {report}")
    record_property("approval_stress", report)
    assert len(reqs) == AGENTS * REQUESTS
    assert states["executed"] == len(ran) == report["resumes_that_executed"]
    assert verify_chain(db).ok
