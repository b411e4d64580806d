"""An approved call the gateway has no function for (a proxy, an MCP gateway) is handed to the
caller: delegated, audited as such (never as a dry run or as run), and completed by the caller."""

from __future__ import annotations

from pathlib import Path

from ringfence.gateway import ApprovalOutcome, Gateway, Proposal, Session


class Approves:
    def submit(self, session: Session, proposal: Proposal) -> ApprovalOutcome:
        return ApprovalOutcome("approved", "req-1", "ok", {"order_id": "4822"})


def _executions(gw: Gateway) -> list[dict]:
    gw.audit.flush()
    return [r.payload for r in gw.audit.records(kinds=["execution"])]


def test_approved_call_without_a_function_is_delegated(policy, resolver, tmp_path: Path) -> None:
    with Gateway(
        policy,
        store=tmp_path / "d.db",
        resolver=resolver,
        approvals=Approves(),
        require_registered=False,
    ) as gw:
        session = gw.session("cust-17")
        result = session.call("cancel_order", {"order_id": "4821"})
        assert not result.executed and result.decision == "allow"
        assert result.delegated is not None
        assert dict(result.delegated.call.args) == {"order_id": "4822"}  # the approved ones
        assert result.delegated.verdict.decision == "allow"
        assert "handed to the caller" in result.message
        [event] = _executions(gw)
        assert (event["delegated"], event["dry_run"], event["ok"]) == (True, False, True)

        done = session.complete(result.delegated, output="cancelled 4822")  # the caller ran it
        assert done.executed and done.content_id is not None
        assert [e["delegated"] for e in _executions(gw)] == [True, False]


def test_dry_run_gateways_still_run_nothing(policy, resolver, tmp_path: Path) -> None:
    with Gateway(
        policy, store=tmp_path / "e.db", resolver=resolver, approvals=Approves(), dry_run=True
    ) as gw:
        result = gw.session("cust-17").call("cancel_order", {"order_id": "4821"})
        assert not result.executed and result.delegated is None
        assert [e["dry_run"] for e in _executions(gw)] == [True]
