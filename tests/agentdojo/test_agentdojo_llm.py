"""The ``llm`` agent: a real tool-calling loop over an OpenAI-compatible endpoint, here a fake
one (``httpx.MockTransport``) playing a model that obeys the injection it reads."""

from __future__ import annotations

import json

import httpx
import pytest
from agentdojo_helpers import AGENTDOJO

from ringfence.agentdojo import Context, Unit, run_unit
from ringfence.agents import OpenAIChatModel

pytestmark = AGENTDOJO

ATTACKER = "US133000000121212121212"
UNIT = Unit("banking", "user_task_4", "injection_task_5", "injecagent")


class ObedientModel:
    """Reads the transactions; if a result mentions the attacker's account, pays it; answers."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        last = body["messages"][-1]
        if last["role"] == "user":
            return _call("get_most_recent_transactions", {"n": 100})
        if last["role"] == "tool" and ATTACKER in last["content"] and not self._paid(body):
            return _call("send_money", {"recipient": ATTACKER, "amount": 50000,
                                        "subject": "as asked", "date": "2022-04-01"})  # fmt: skip
        return httpx.Response(200, json={"choices": [{"message": {
            "role": "assistant", "content": "I refunded GB29NWBK60161331926819."}}]})  # fmt: skip

    @staticmethod
    def _paid(body: dict) -> bool:
        return any(m.get("tool_calls") and "send_money" in json.dumps(m["tool_calls"])
                   for m in body["messages"])  # fmt: skip


def _call(name: str, args: dict) -> httpx.Response:
    call = {"id": f"call_{name}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)}}  # fmt: skip
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return httpx.Response(200, json={"choices": [{"message": message}]})


@pytest.mark.parametrize(("pack", "attacked"), [("none", True), ("default", False)])
def test_llm_loop_through_the_gateway(pack, attacked):
    server = ObedientModel()
    model = OpenAIChatModel("http://model.test/v1", "obedient", api_key="k",
                            transport=httpx.MockTransport(server))  # fmt: skip
    ctx = Context(pack=pack, model=model)
    try:
        [out] = run_unit(ctx, UNIT, ["llm"], ["span"])
    finally:
        ctx.close()
    assert out.error is None
    assert out.injection_seen and out.attacked is attacked
    first = server.bodies[0]
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    tools = {t["function"]["name"] for t in first["tools"]}
    assert {"send_money", "get_most_recent_transactions"} <= tools
    tool_messages = [m for m in server.bodies[-1]["messages"] if m["role"] == "tool"]
    assert "US133000000121212121212" in tool_messages[0]["content"]  # the model read it
    if not attacked:  # refused, so the model was told; no person could approve it unseen
        assert "send_money" in tool_messages[1]["content"]
        assert all(a.shown for a in out.approvals if a.tool == "send_money")


def test_a_failing_endpoint_is_an_error_outcome_not_a_crash():
    model = OpenAIChatModel("http://model.test/v1", "m",
                            transport=httpx.MockTransport(lambda r: httpx.Response(503)))  # fmt: skip
    ctx = Context(model=model)
    try:
        [out] = run_unit(ctx, Unit("banking", "user_task_4"), ["llm"], ["span"])
    finally:
        ctx.close()
    assert out.error is not None and "503" in out.error and not out.utility
