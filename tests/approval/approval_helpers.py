"""Helpers shared by the approval tests: the test policy, a hand-moved clock, tool effects."""

from __future__ import annotations

from ringfence.gateway import Gateway

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
