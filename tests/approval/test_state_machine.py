"""A hypothesis state machine drives the queue with random votes, cancels, clock moves and
resumes, against a small model: states always agree, and a call runs at most once and only
when approved by enough eligible approvers."""

from __future__ import annotations

from dataclasses import dataclass, field

from approval_helpers import POLICY, Clock, Effects
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from ringfence.approval import ApprovalQueue
from ringfence.exceptions import ApprovalError
from ringfence.gateway import Gateway
from ringfence.policy import Principal, policy_from_yaml
from ringfence.store import SqliteStore

ROLES = {"alice": {"support-lead", "finance"}, "bob": {"finance"}, "carol": {"support-lead"},
         "agent-7": {"finance"}}  # fmt: skip
NEEDS = {"cancel_order": ("support-lead", 600.0, False), "wire": ("finance", 3600.0, True)}


@dataclass
class Model:
    tool: str
    expires_at: float
    state: str = "pending"
    votes: dict[str, str] = field(default_factory=dict)
    runs: int = 0


class QueueMachine(RuleBasedStateMachine):
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.effects = Effects()
        policy = policy_from_yaml(POLICY)
        self.store = SqliteStore(":memory:")
        self.queue = ApprovalQueue(self.store, policy=policy, clock=self.clock)
        self.gw = Gateway(policy, store=self.store, approvals=self.queue, clock=self.clock)
        self.effects.add_tools(self.gw)
        self.session = self.gw.session(Principal("cust-1"), "s1", agent="agent-7")
        self.model: dict[str, Model] = {}

    def teardown(self) -> None:
        self.gw.close()
        self.queue.close()

    def _expire(self, m: Model) -> None:
        if m.state == "pending" and self.clock.now >= m.expires_at:
            m.state = "expired"

    @rule(target=requests, tool=st.sampled_from(sorted(NEEDS)))
    def request(self, tool: str) -> str:
        args = {"order_id": "1"} if tool == "cancel_order" else {"iban": "X", "amount": 1}
        rid = self.session.call(tool, args).approval.request_id
        self.model[rid] = Model(tool, self.clock.now + NEEDS[tool][1])
        return rid

    @rule(
        rid=requests,
        who=st.sampled_from(sorted(ROLES)),
        decision=st.sampled_from(["approve", "deny"]),
    )
    def vote(self, rid: str, who: str, decision: str) -> None:
        m = self.model[rid]
        self._expire(m)
        expected = self._expected_vote(m, who, decision)
        try:
            self.queue.decide(rid, who, decision, "r")  # type: ignore[arg-type]
        except ApprovalError:
            assert expected is None, f"{who} {decision} on {m} was refused"
            return
        assert expected is not None, f"{who} {decision} on {m} was accepted"
        m.state = expected
        m.votes.setdefault(who, decision)

    def _expected_vote(self, m: Model, who: str, decision: str) -> str | None:
        role, _, two = NEEDS[m.tool]
        if who == "agent-7" or (decision == "approve" and role not in ROLES[who]):
            return None
        if who in m.votes:
            return m.state if m.votes[who] == decision else None
        if m.state != "pending":
            return None
        if decision == "deny":
            return "denied"
        approvals = 1 + sum(1 for d in m.votes.values() if d == "approve")
        return "approved" if approvals >= (2 if two else 1) else "pending"

    @rule(rid=requests)
    def resume(self, rid: str) -> None:
        m = self.model[rid]
        self._expire(m)
        result = self.gw.resume(rid)
        if m.state == "approved":
            m.state, m.runs = "executed", m.runs + 1
            assert result.executed
        else:
            assert not result.executed

    @rule(rid=requests)
    def cancel(self, rid: str) -> None:
        m = self.model[rid]
        self._expire(m)
        try:
            self.queue.cancel(rid, actor="app")
        except ApprovalError:
            assert m.state not in ("pending", "approved")
            return
        assert m.state in ("pending", "approved")
        m.state = "cancelled"

    @rule(seconds=st.sampled_from([30.0, 300.0, 1200.0, 4000.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def sweep(self) -> None:
        self.queue.expire_due()
        for m in self.model.values():
            self._expire(m)

    @invariant()
    def agrees_with_model(self) -> None:
        for rid, m in self.model.items():
            req = self.queue.get(rid)
            state = req.state
            if state == "pending" and self.clock.now >= req.expires_at:
                state = "expired"
            self._expire(m)
            assert state == m.state, (rid, state, m)
            assert m.runs <= 1
        ran = len(self.effects.calls)
        assert ran == sum(m.runs for m in self.model.values())


QueueMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
TestQueueMachine = QueueMachine.TestCase
