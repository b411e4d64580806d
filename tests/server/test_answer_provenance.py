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


def post(stack, stream, as_json=True, text=ANSWER):
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
        "mock": {"text": text},
    }  # fmt: skip
    headers = {"authorization": f"Bearer {KEY}"}
    r = httpx.post(stack.url + "/v1/chat/completions", json=body, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return r.json() if as_json and not stream else r


def test_an_untrusted_name_is_cited_plain_and_streamed(stack_factory):
    stack = stack_factory(CITING, checker=SessionGuards())
    content = post(stack, stream=False)["choices"][0]["message"]["content"]
    assert content.startswith(ANSWER)
    assert '"Riverside View Hotel": from tool:get_order' in content
    events = sse_events(post(stack, stream=True))
    deltas = [ch["delta"].get("content") or "" for e in events[:-1] for ch in e["choices"]]
    assert "".join(deltas) == content


def test_without_an_answers_section_the_answer_is_untouched(stack_factory):
    stack = stack_factory(GUARDED, checker=SessionGuards())
    content = post(stack, stream=False)["choices"][0]["message"]["content"]
    assert content == ANSWER


def test_withheld_parts_streamed_the_same_or_blocked_once_released(stack_factory):
    withholding = GUARDED + "answers: {untrusted: withhold, tainted: withhold}\n"
    stack = stack_factory(withholding, checker=SessionGuards())
    plain = post(stack, stream=False)["choices"][0]["message"]["content"]
    assert "Riverside View Hotel" not in plain
    assert "[withheld: from tool:get_order]" in plain
    short = _streamed(post(stack, stream=True, as_json=False))
    assert short == (plain, ["stop"])  # all of it was still held back: the same answer
    long_answer = ANSWER + " It should arrive within three business days." * 3
    text, finish = _streamed(post(stack, stream=True, as_json=False, text=long_answer))
    assert finish == ["content_filter"]  # the name had been released before the answer was traced
    assert text.endswith("This request was blocked by a safety policy.")


def _streamed(response):
    events = sse_events(response)[:-1]
    text = "".join(ch["delta"].get("content") or "" for e in events for ch in e["choices"])
    return text, [
        ch["finish_reason"] for e in events for ch in e["choices"] if ch.get("finish_reason")
    ]
