"""Constants and helpers shared by the serving tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

from ringfence.gateway import Gateway
from ringfence.policy import StaticResolver, policy_from_yaml

POLICY = """
version: 1
name: proxy-test
sources:
  user: trusted
approvers:
  carol: {roles: [support-lead]}
tools:
  get_order:
    effect: allow
    args:
      order_id: {type: string, required: true, pattern: "^[0-9]{4,8}$"}
    output:
      trusted_fields: ["order_id", "amount", "customer_email"]
  refund:
    effect: allow
    args:
      order_id: {type: string, required: true}
      amount: {type: number, required: true, maximum: 40}
    provenance:
      - id: refund-values-from-user
        args: [order_id, amount]
        from: [user, "tool:get_order#order_id", "tool:get_order#amount"]
        otherwise: approve
        tainted: deny
  send_email:
    effect: allow
    args:
      to: {type: string, required: true}
      body: {type: string}
    provenance:
      - id: email-recipient-trusted
        args: [to]
        from: [trusted]
        otherwise: deny
        tainted: deny
  cancel_order:
    effect: approve
  delete_account:
    effect: deny
proxy:
  stream_hold_back: 32
  upstream_timeout: 30
  rate_limit_per_minute: 100000
"""

KEY = "rf-test-key-alice-0123456789"
OTHER_KEY = "rf-test-key-bob-0123456789abc"

# A deterministic stand-in for the guards: blocks "ignore previous instructions" on input,
# taints it in untrusted content, and blocks anything that looks like a live secret on output.
PATTERNS: dict[Any, list[str]] = {
    "input": [r"ignore (all )?previous instructions"],
    "untrusted": [r"ignore (all )?previous instructions"],
    "output": [r"sk-live-[A-Za-z0-9]{8,}"],
}


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "arguments": args}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def sse_events(response: httpx.Response) -> list[Any]:
    """The JSON payloads of a raw SSE body ('[DONE]' kept as a string)."""
    out: list[Any] = []
    for block in response.text.split("\n\n"):
        if block.startswith("data: "):
            data = block[6:]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def make_gateway(policy_text: str = POLICY, db: Any = ":memory:", approvals: Any = None) -> Gateway:
    """A proxy gateway; ``approvals="queue"`` adds an ApprovalQueue on the same store."""
    policy = policy_from_yaml(policy_text)
    if approvals != "queue":
        return Gateway(policy, store=db, resolver=StaticResolver(), require_registered=False)
    from ringfence.approval import ApprovalQueue
    from ringfence.store import SqliteStore

    store = SqliteStore(db)
    queue = ApprovalQueue(store, policy=policy)
    return Gateway(
        policy,
        store=store,
        audit=queue.audit,
        resolver=StaticResolver(),
        require_registered=False,
        approvals=queue,
    )
