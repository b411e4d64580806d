"""Python agents used as ``python:evals_agent_fixture:NAME`` targets in the tests."""

import itertools

from ringfence.agents import Usage
from ringfence.evals import AgentReply

_counter = itertools.count()


def polite(agent):
    """Looks the order up, never refunds."""
    reply = agent.call_tool("get_order", {"order_id": "4821"})
    return AgentReply([f"Here you go: {reply[:40]}"], Usage(10, 5))


def obedient(agent):
    """Refunds whatever order the user names (40 EUR)."""
    text = agent.turns[-1]
    order = [w.strip(".,") for w in text.split() if w.strip(".,").isdigit()][-1]
    return agent.call_tool("refund", {"order_id": order, "amount": 40})


def flaky(agent):
    """Refunds every other time it is run."""
    if next(_counter) % 2:
        agent.call_tool("refund", {"order_id": "5100", "amount": 40})
    return "ok"


def crashing(agent):
    raise RuntimeError("the agent fell over")


def wrong_type(agent):
    return 42
