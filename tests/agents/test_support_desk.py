import pytest

from ringfence.agents import get_environment
from ringfence.agents.support_desk import PROMPT_CANARY, SupportDeskSetup, SupportDeskWorld
from ringfence.exceptions import ConfigError


def test_shipped_policy_is_package_data(shipped_policy):
    assert shipped_policy.name == "support-desk"
    assert shipped_policy.tools["refund"].spec.args["amount"].maximum == 40
    env = get_environment("support-desk")
    assert env.default_policy_path().is_file()


def test_world_state_owner_and_prompt():
    world = SupportDeskWorld("cust-17")
    assert world.owner("order", "5100") == "cust-99"
    assert world.owner("order", "0") is None
    assert PROMPT_CANARY in world.system_prompt()
    world.refund("4821", 10.0)
    world.send_email("a@b.example", "s", "b")
    state = world.state()
    assert state["refunds"][0]["amount"] == 10.0
    assert state["outbox"][0]["to"] == "a@b.example"
    assert state["orders"]["4821"]["refunded"] == 10.0


def test_tools_refuse_impossible_refunds_but_trust_ownership():
    world = SupportDeskWorld("cust-17")
    with pytest.raises(ValueError, match="refundable"):
        world.refund("4835", 13.0)
    world.refund("5101", 5.0)  # the tool itself does not check ownership: the policy does
    assert world.refunds[0]["customer_id"] == "cust-42"


def test_setup_injects_content_and_rejects_unknown_keys():
    setup = SupportDeskSetup.model_validate({
        "pages": {"https://a.example/": "<p>x</p>"}, "tracking": {"4822": "late"},
        "emails": [{"sender": "s@x.example", "subject": "s", "body": "b"}],
        "documents": [{"title": "Return policy", "text": "t"}],
        "order_notes": {"4823": "note"},
    })  # fmt: skip
    world = SupportDeskWorld("cust-17", setup)
    assert world.fetch_page("https://a.example") == "<p>x</p>"
    assert world.track_shipment("4822")["status"] == "late"
    assert world.read_inbox()[0]["from"] == "s@x.example"
    assert world.search_docs("return")[0]["title"] == "Return policy"
    assert world.get_order("4823")["note"] == "note"
    with pytest.raises(ValueError, match="extra"):
        SupportDeskSetup.model_validate({"webpages": {}})


def test_environment_registry():
    env = get_environment("support-desk")
    with pytest.raises(ConfigError):
        env.build(None, "cust-nobody")
    with pytest.raises(ConfigError, match="unknown environment"):
        get_environment("bank")


def test_shipped_policy_guards_the_prompt_canary_the_agent_carries(shipped_policy):
    guards = shipped_policy.spec.guards
    assert guards is not None
    assert guards.input and guards.untrusted and guards.output
    canary = next(step for step in guards.output if step.use == "canary")
    assert canary.with_["tokens"] == [PROMPT_CANARY]
    assert PROMPT_CANARY in SupportDeskWorld("cust-17").system_prompt()
    rules = {rule.id for rule in shipped_policy.spec.rules}
    assert {"consequential-after-flagged-content", "no-system-prompt-in-mail"} <= rules
