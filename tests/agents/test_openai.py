import json

import httpx
import pytest

from ringfence.agents import Message, OpenAIChatModel, make_model, run_agent
from ringfence.agents._openai import parse_chat_completion, split_openai_spec
from ringfence.exceptions import ConfigError, ModelError


def completion(message, usage=None):
    return {"choices": [{"message": message}], "usage": usage or {"prompt_tokens": 7,
                                                                  "completion_tokens": 3}}  # fmt: skip


class FakeServer:
    """An OpenAI-compatible endpoint that looks up an order, then answers."""

    def __init__(self):
        self.requests = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append((request, body))
        if request.url.path != "/v1/chat/completions":
            return httpx.Response(404)
        if body["messages"][-1]["role"] == "tool":
            return httpx.Response(
                200, json=completion({"role": "assistant", "content": "Shipped."})
            )
        call = {"id": "call_1", "type": "function",
                "function": {"name": "get_order", "arguments": '{"order_id": "4822"}'}}  # fmt: skip
        return httpx.Response(200, json=completion({"role": "assistant", "content": None,
                                                    "tool_calls": [call]}))  # fmt: skip


def test_a_tool_calling_conversation_through_the_gateway(desk):
    server = FakeServer()
    model = OpenAIChatModel("http://model.test/v1", "m", api_key="k",
                            transport=httpx.MockTransport(server))  # fmt: skip
    world, runner = desk()
    transcript = run_agent(model, runner, world.system_prompt(), ["Status of order 4822?"])
    assert transcript.final_output == "Shipped."
    assert [(c.tool, c.decision) for c in transcript.calls] == [("get_order", "allow")]
    assert transcript.usage.total == 20
    assert not transcript.usage.estimated
    first, body = server.requests[0]
    assert first.headers["authorization"] == "Bearer k"
    assert body["model"] == "m"
    assert body["tool_choice"] == "auto"
    assert {t["function"]["name"] for t in body["tools"]} >= {"refund", "get_order"}
    assert "delete_account" not in {t["function"]["name"] for t in body["tools"]}
    second = server.requests[1][1]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "tool"]
    assert second[3]["tool_call_id"] == "call_1"


def test_http_and_transport_errors_become_model_errors():
    def fail(request):
        return httpx.Response(503, text="overloaded")

    model = OpenAIChatModel("http://m.test/v1", "m", transport=httpx.MockTransport(fail))
    with pytest.raises(ModelError, match="HTTP 503"):
        model.complete([Message("user", "hi")], [])

    def boom(request):
        raise httpx.ConnectError("refused", request=request)

    model = OpenAIChatModel("http://m.test/v1", "m", transport=httpx.MockTransport(boom))
    with pytest.raises(ModelError, match="ConnectError"):
        model.complete([Message("user", "hi")], [])

    def not_json(request):
        return httpx.Response(200, text="<html>")

    model = OpenAIChatModel("http://m.test/v1", "m", transport=httpx.MockTransport(not_json))
    with pytest.raises(ModelError, match="not JSON"):
        model.complete([Message("user", "hi")], [])


def test_parsing_replies():
    with pytest.raises(ModelError, match="malformed"):
        parse_chat_completion({"choices": []})
    reply = parse_chat_completion(completion({"content": "", "tool_calls": [
        {"id": "a", "function": {"name": "refund", "arguments": "{oops"}},
        {"function": {"name": "refund", "arguments": {"amount": 1}}},
        {"id": "c", "function": {"name": "refund", "arguments": "[1]"}},
    ]}))  # fmt: skip
    first, second, third = reply.tool_calls
    assert first.raw_arguments == "{oops"
    assert first.arguments == {}
    assert second.arguments == {"amount": 1}
    assert second.id == "call_1"
    assert third.raw_arguments == "[1]"


def test_spec_parsing():
    assert split_openai_spec("http://h:8000/v1#qwen") == ("http://h:8000/v1", "qwen")
    with pytest.raises(ConfigError):
        split_openai_spec("http://h:8000/v1")
    with pytest.raises(ConfigError):
        OpenAIChatModel("ftp://h", "m")
    assert make_model("openai:http://h/v1#m").name == "openai:m"
