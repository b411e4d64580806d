"""Answer provenance through the proxy: a name in the answer that only a tool result holds is
cited under the answer, the same with and without streaming."""

from __future__ import annotations

import httpx
from proxy_helpers import KEY, POLICY, sse_events, user

from ringfence.server import SessionGuards

GUARDED = POLICY + "guards: {input: [], untrusted: [{use: injection, action: flag}], output: []}\n"
CITING = GUARDED + "answers: {untrusted: cite, tainted: withhold}\n"
PAGE = "Order 4821: shipped. Guests of our partner, the Riverside View Hotel, get free delivery."
ANSWER = "Your order shipped. Guests of the Riverside View Hotel get free delivery."


def post(stack, stream):
    body = {
        "model": "m",
        "stream": stream,
        "messages": [
            user("where is my order?"),
            {"role": "assistant", "content": None,
             "tool_calls": [{"id": "t1", "type": "function",
                             "function": {"name": "get_order", "arguments": "{\"order_id\": \"4821\"}"}}]},
            {"role": "tool", "tool_call_id": "t1", "content": PAGE},
        ],
        "mock": {"text": ANSWER},
    }  # fmt: skip
    headers = {"authorization": f"Bearer {KEY}"}
    r = httpx.post(stack.url + "/v1/chat/completions", json=body, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return r


def test_an_untrusted_name_is_cited_plain_and_streamed(stack_factory):
    stack = stack_factory(CITING, checker=SessionGuards())
    content = post(stack, stream=False).json()["choices"][0]["message"]["content"]
    assert content.startswith(ANSWER)
    assert '"Riverside View Hotel": from tool:get_order' in content
    events = sse_events(post(stack, stream=True))
    deltas = [ch["delta"].get("content") or "" for e in events[:-1] for ch in e["choices"]]
    assert "".join(deltas) == content


def test_without_an_answers_section_the_answer_is_untouched(stack_factory):
    stack = stack_factory(GUARDED, checker=SessionGuards())
    content = post(stack, stream=False).json()["choices"][0]["message"]["content"]
    assert content == ANSWER
