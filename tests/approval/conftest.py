"""Fixtures for the approval tests: a policy with approvers, a fake clock, a store on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ringfence.approval import ApprovalQueue, StagingArea
from ringfence.gateway import Gateway
from ringfence.policy import Policy, Principal, policy_from_yaml
from ringfence.store import SqliteStore

POLICY = """
version: 1
name: approvals-test
approval: {timeout: 15m}
approvers:
  alice: {roles: [support-lead, finance]}
  bob: {roles: [finance]}
  carol: {roles: [support-lead]}
  agent-7: {roles: [finance]}
tools:
  refund:
    effect: allow
    args:
      amount: {type: number, maximum: 500}
    caps:
      - {id: refund-daily, sum: amount, max: 100, window: 24h, on_exceed: approve}
  cancel_order:
    effect: approve
    approval: {timeout: 10m, roles: [support-lead]}
  wire:
    effect: approve
    approval: {timeout: 1h, roles: [finance], two_person: true}
  send_email:
    effect: allow
    stage: true
    caps:
      - {id: mail-rate, count: true, max: 2, window: 1h}
  send_email_approved:
    effect: approve
    stage: true
  lookup:
    effect: allow
"""


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Effects:
    """Records every real execution of a tool."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, object]]] = []

    def add_tools(self, gw: Gateway) -> None:
        def refund(order_id: str, amount: float) -> str:
            self.calls.append(("refund", {"order_id": order_id, "amount": amount}))
            return f"refunded {amount} on {order_id}"

        def cancel_order(order_id: str) -> str:
            self.calls.append(("cancel_order", {"order_id": order_id}))
            return f"cancelled {order_id}"

        def wire(iban: str, amount: float) -> str:
            self.calls.append(("wire", {"iban": iban, "amount": amount}))
            return "wired"

        def send_email(to: str, body: str = "") -> str:
            self.calls.append(("send_email", {"to": to, "body": body}))
            return f"sent to {to}"

        def send_email_approved(to: str) -> str:
            self.calls.append(("send_email_approved", {"to": to}))
            return "sent"

        def lookup(q: str) -> str:
            return f"result for {q}"

        for fn in (refund, cancel_order, wire, send_email, send_email_approved, lookup):
            gw.add_function(fn)


@pytest.fixture
def policy() -> Policy:
    return policy_from_yaml(POLICY)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ringfence.db"


@pytest.fixture
def store(db: Path) -> Iterator[SqliteStore]:
    with SqliteStore(db) as s:
        yield s


@pytest.fixture
def effects() -> Effects:
    return Effects()


@pytest.fixture
def queue(store: SqliteStore, policy: Policy, clock: Clock) -> Iterator[ApprovalQueue]:
    q = ApprovalQueue(store, policy=policy, clock=clock)
    yield q
    q.close()


@pytest.fixture
def gateway(
    store: SqliteStore, policy: Policy, queue: ApprovalQueue, clock: Clock, effects: Effects
) -> Iterator[Gateway]:
    staging = StagingArea(store, clock=clock)
    gw = Gateway(policy, store=store, approvals=queue, staging=staging, clock=clock)
    effects.add_tools(gw)
    yield gw
    gw.close()
    staging.close()


@pytest.fixture
def customer() -> Principal:
    return Principal("cust-1", kind="user")
