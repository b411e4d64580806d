"""Worker processes for the approval stress test: agents that request and resume, approvers
that approve or deny, all on one SQLite file. Every real tool execution appends its call id to
an effects file (``O_APPEND``), which the test checks afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
from pathlib import Path

from ringfence.approval import ApprovalQueue
from ringfence.exceptions import ApprovalError
from ringfence.gateway import Gateway
from ringfence.policy import Principal, policy_from_yaml
from ringfence.store import SqliteStore

POLICY = """
version: 1
name: stress
approvers:
  alice: {roles: [ops]}
  bob: {roles: [ops]}
  carol: {roles: [ops]}
tools:
  cancel_order: {effect: approve, approval: {timeout: 30s}}
  wire: {effect: approve, approval: {timeout: 30s, two_person: true}}
  rush: {effect: approve, approval: {timeout: 0.4s}}
"""


def _gateway(db: str, effects: str) -> tuple[Gateway, ApprovalQueue]:
    policy = policy_from_yaml(POLICY)
    store = SqliteStore(db)
    queue = ApprovalQueue(store, policy=policy)
    gw = Gateway(policy, store=store, approvals=queue)

    def record(call_id: str) -> str:
        fd = os.open(effects, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{call_id}\n".encode())
        finally:
            os.close(fd)
        return "done"

    def cancel_order(call_id: str) -> str:
        return record(call_id)

    def wire(call_id: str) -> str:
        return record(call_id)

    def rush(call_id: str) -> str:
        return record(call_id)

    for fn in (cancel_order, wire, rush):
        gw.add_function(fn)
    return gw, queue


def agent(db: str, effects: str, name: str, requests: int, seed: int) -> None:
    """Make ``requests`` requests, cancel a few, and keep resuming every request it can see."""
    rng = random.Random(seed)
    gw, queue = _gateway(db, effects)
    tally = {"resumes": 0, "executed": 0}
    session = gw.session(Principal(f"user-{name}"), f"session-{name}", agent=name)
    for i in range(requests):
        tool = rng.choice(["cancel_order", "cancel_order", "wire", "rush"])
        result = session.call(tool, {"call_id": f"{name}-{i}"})
        if result.approval is not None and result.approval.request_id and rng.random() < 0.1:
            with contextlib.suppress(ApprovalError):
                queue.cancel(result.approval.request_id, actor=name)
        _resume_some(gw, queue, rng, 4, tally)
        time.sleep(rng.uniform(0, 0.03))
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        _resume_some(gw, queue, rng, 20, tally)
    Path(effects).with_name(f"{name}.json").write_text(json.dumps(tally))
    gw.close()
    queue.close()


def _resume_some(
    gw: Gateway, queue: ApprovalQueue, rng: random.Random, n: int, tally: dict[str, int]
) -> None:
    """Resume requests any agent made: approved ones, executed ones (again) and others."""
    seen = queue.list_requests(limit=300)
    for req in rng.sample(seen, min(n, len(seen))):
        tally["resumes"] += 1
        tally["executed"] += gw.resume(req.id).executed


def approver(db: str, effects: str, name: str, seconds: float, seed: int) -> None:
    """Approve (75%) or deny pending requests in random order until ``seconds`` pass."""
    rng = random.Random(seed)
    gw, queue = _gateway(db, effects)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pending = queue.list_requests(states=["pending"], limit=50)
        rng.shuffle(pending)
        for req in pending[:5]:
            if req.tool == "rush" and rng.random() < 0.7:
                continue  # slow to look at urgent requests: some of them expire
            try:
                if rng.random() < 0.75:
                    queue.approve(req.id, name, "ok")
                else:
                    queue.deny(req.id, name, "no")
            except ApprovalError:
                pass
        time.sleep(rng.uniform(0.01, 0.1))
    gw.close()
    queue.close()


def effects_of(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []
