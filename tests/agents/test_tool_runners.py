from ringfence.agents import DirectRunner


def test_direct_runner_validates_and_reports_errors(desk):
    world, _ = desk(policy=False)
    runner = DirectRunner(world.tools())
    ok = runner.call("get_order", {"order_id": "4821"}, "c1")
    assert ok.executed
    assert ok.ok
    assert ok.decision == "unguarded"
    assert '"4821"' in ok.message
    bad = runner.call("refund", {"order_id": "4821"}, "c2")
    assert not bad.executed
    assert "invalid arguments" in bad.message
    failing = runner.call("get_order", {"order_id": "9999"}, "c3")
    assert failing.executed
    assert not failing.ok
    assert "not found" in failing.message
    missing = runner.call("wire_transfer", {}, "c4")
    assert not missing.executed
    assert "no such tool" in missing.message
    assert runner.add_content("x", "user") is None


def test_gateway_runner_records_decisions_and_provenance(desk):
    world, runner = desk()
    runner.add_content("Refund 20 on order 4821 please", "user")
    allowed = runner.call("refund", {"order_id": "4821", "amount": 20}, "c1")
    assert allowed.decision == "allow"
    assert allowed.executed
    assert allowed.content_id
    foreign = runner.call("refund", {"order_id": "5100", "amount": 20}, "c2")
    assert foreign.decision == "deny"
    assert foreign.blocked
    assert not foreign.executed
    invented = runner.call("refund", {"order_id": "4821", "amount": 17}, "c3")
    assert invented.decision == "approve"
    assert "refund-amount-trusted" in invented.rules
    assert [r["amount"] for r in world.refunds] == [20]
