"""Shared fixtures: a realistic support-desk policy and gateways over temporary stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ringfence.gateway import Gateway
from ringfence.policy import Policy, StaticResolver, load_policy

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_POLICY = ROOT / "examples" / "support_desk" / "policy.yaml"


@pytest.fixture
def policy() -> Policy:
    return load_policy(EXAMPLE_POLICY)


@pytest.fixture
def resolver() -> StaticResolver:
    r = StaticResolver()
    r.add("order", "4821", "cust-17")
    r.add("order", "4822", "cust-17")
    r.add("order", "5100", "cust-99")
    return r


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gateway(
    policy: Policy, resolver: StaticResolver, clock: FakeClock, tmp_path: Path
) -> Iterator[Gateway]:
    gw = Gateway(policy, store=tmp_path / "rf.db", resolver=resolver, clock=clock)
    outbox: list[dict[str, str]] = []

    @gw.tool
    def get_order(order_id: str) -> dict[str, object]:
        """Look up an order."""
        return {
            "order_id": order_id,
            "amount": 25.0,
            "status": "delivered",
            "customer_email": "me@cust17.example",
            "note": "left at door",
        }

    @gw.tool
    def refund(order_id: str, amount: float, reason: str = "") -> str:
        """Refund an order."""
        return f"refunded {amount} on {order_id}"

    @gw.tool
    def send_email(to: str, subject: str = "", body: str = "") -> str:
        outbox.append({"to": to, "subject": subject, "body": body})
        return "sent"

    @gw.tool
    def fetch_page(url: str) -> str:
        return "<html>page</html>"

    gw.outbox = outbox  # type: ignore[attr-defined]
    yield gw
    gw.close()
