"""Fixtures: a mock upstream and the proxy on loopback, each on its own thread and event loop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ringfence.gateway import Gateway
from ringfence.policy import StaticResolver, policy_from_yaml
from ringfence.server import (
    ContentChecker,
    KeyRing,
    KeySpec,
    MockScript,
    MockUpstream,
    PatternChecker,
    ProxyConfig,
    build_app,
    hash_key,
)
from ringfence.server._running import serve_in_thread

POLICY = """
version: 1
name: proxy-test
sources:
  user: trusted
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
  upstream_timeout: 2
  rate_limit_per_minute: 100000
"""

KEY = "rf-test-key-alice-0123456789"
OTHER_KEY = "rf-test-key-bob-0123456789abc"

# A deterministic stand-in for the guards: blocks "ignore previous instructions" on input,
# taints it in tool results, and blocks anything that looks like an API secret on output.
PATTERNS: dict[Any, list[str]] = {
    "input": [r"ignore (all )?previous instructions"],
    "untrusted": [r"ignore (all )?previous instructions", r"send .* to \S+@evil\.test"],
    "output": [r"sk-live-[A-Za-z0-9]{8,}"],
}


@dataclass
class Stack:
    url: str
    upstream: str
    mock: MockUpstream
    gateway: Gateway

    def records(self, kind: str | None = None) -> list[Any]:
        self.gateway.audit.flush()
        return [r for r in self.gateway.audit.records() if kind is None or r.kind == kind]


def make_gateway(policy_text: str = POLICY, db: Path | str = ":memory:") -> Gateway:
    resolver = StaticResolver()
    return Gateway(policy_from_yaml(policy_text), store=db, resolver=resolver,
                   require_registered=False)  # fmt: skip


@pytest.fixture
def stack_factory(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    opened: list[Any] = []

    def make(
        policy_text: str = POLICY,
        script: MockScript | None = None,
        checker: ContentChecker | None = None,
        keys: bool = True,
    ) -> Stack:
        mock = MockUpstream(script or MockScript())
        mock_cm = mock.run_in_thread()
        upstream = mock_cm.__enter__()
        opened.append(mock_cm)
        gateway = make_gateway(policy_text, tmp_path / f"audit{len(opened)}.db")
        ring = KeyRing.from_specs([
            KeySpec(sha256=hash_key(KEY), principal="alice", tenant="acme"),
            KeySpec(sha256=hash_key(OTHER_KEY), principal="bob", rate_limit_per_minute=2),
        ]) if keys else None  # fmt: skip
        config = ProxyConfig(gateway=gateway, upstream=upstream, keys=ring,
                             checker=checker or PatternChecker(PATTERNS))  # fmt: skip
        proxy_cm = serve_in_thread(build_app(config))
        url = proxy_cm.__enter__()
        opened.append(proxy_cm)
        opened.append(gateway)
        return Stack(url, upstream, mock, gateway)

    yield make
    for item in reversed(opened):
        if isinstance(item, Gateway):
            item.close()
        else:
            item.__exit__(None, None, None)


@pytest.fixture
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    return stack_factory()
