"""Output guards that redact: the client gets the rewritten text, streaming or not, and the
hold-back buffer never releases the unredacted text."""

from __future__ import annotations

import json

import httpx
from proxy_helpers import KEY, POLICY, make_gateway, sse_events, user

from ringfence.policy import Principal
from ringfence.server import Check, Metrics, PatternChecker, SessionGuards
from ringfence.server._exchange import Exchange

REDACTING = (
    POLICY
    + """
guards:
  input: []
  untrusted: []
  output:
    - {use: secrets, action: redact}
    - {use: pii, action: redact}
"""
)
EMAIL, KEY_ID = "jane.doe@example.com", "AKIAIOSFODNN7EXAMPLE"
FILLER = "Your order shipped yesterday and should arrive within three business days. "
ANSWER = f"{FILLER * 3}Write to {EMAIL} if it does not. {FILLER * 2}Key: {KEY_ID}. {FILLER * 3}"


def post(stack, stream, text=ANSWER):
    body = {
        "model": "m",
        "stream": stream,
        "messages": [user("where is my order?")],
        "mock": {"text": text},
    }
    headers = {"authorization": f"Bearer {KEY}"}
    r = httpx.post(stack.url + "/v1/chat/completions", json=body, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return r


def test_redacted_answer_plain_and_streamed(stack_factory):
    stack = stack_factory(REDACTING, checker=SessionGuards())
    plain = post(stack, stream=False)
    assert EMAIL not in plain.text and KEY_ID not in plain.text
    body = plain.json()
    content = body["choices"][0]["message"]["content"]
    assert content == ANSWER.replace(EMAIL, "<EMAIL_1>").replace(
        KEY_ID, "[REDACTED:aws_access_key]"
    )
    output = body["ringfence"]["choices"][0]["output"]
    assert output["verdict"] == "flag" and output["rewritten"] is True
    assert body["choices"][0]["finish_reason"] == "stop"

    streamed = post(stack, stream=True)
    assert EMAIL not in streamed.text and KEY_ID not in streamed.text  # no event carries them
    events = sse_events(streamed)
    deltas = [ch["delta"].get("content") or "" for e in events[:-1] for ch in e["choices"]]
    assert "".join(deltas) == content  # the same answer as without streaming
    released_early = [d for d in deltas if d and EMAIL[:4] not in d]
    assert len(released_early) > 1  # text before the e-mail was streamed, not all held back
    assert events[-2]["ringfence"]["choices"][0]["output"] == output


def test_answer_without_findings_is_not_rewritten(stack_factory):
    stack = stack_factory(REDACTING, checker=SessionGuards())
    body = post(stack, stream=False, text=FILLER * 4).json()
    assert body["choices"][0]["message"]["content"] == FILLER * 4
    assert "rewritten" not in body["ringfence"]["choices"][0]["output"]


def completion(content, refusal):
    message = {"role": "assistant", "content": content, "refusal": refusal}
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }


def test_content_and_the_models_refusal_are_each_redacted():
    with make_gateway(REDACTING) as gateway:
        body = {"model": "m", "messages": [user("hi")]}
        ex = Exchange(gateway, SessionGuards(), Metrics(), Principal("alice"), body)
        assert isinstance(ex.prepare(), dict)
        status, out = ex.respond(completion(f"Mail {EMAIL}.", f"I won't share {KEY_ID}."))
    message = out["choices"][0]["message"]
    assert status == 200
    assert message["content"] == "Mail <EMAIL_1>."
    assert message["refusal"] == "I won't share [REDACTED:aws_access_key]."


class LateRedaction(PatternChecker):
    """Rewrites 'alpha' only once the full answer (ending in 'END') is seen: a rewrite no
    window check could have made before the text was released."""

    def check(self, session, text, direction):
        if direction == "output" and text.endswith("END"):
            return Check(direction, "flag", ("late",), text=text.replace("alpha", "[X]"))
        return Check(direction, "pass")


def test_a_rewrite_of_text_already_released_ends_the_stream_with_the_refusal():
    with make_gateway(POLICY) as gateway:
        body = {"model": "m", "stream": True, "messages": [user("hi")]}
        ex = Exchange(gateway, LateRedaction(), Metrics(), Principal("alice"), body)
        assert isinstance(ex.prepare(), dict)
        flt = ex.stream_filter()
        text = "alpha " + "b" * 200 + " END"
        base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
        events = []
        for i in range(0, len(text), 8):
            delta = {"content": text[i : i + 8]}
            chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            events += flt.feed(chunk)
        events += flt.feed(
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        )
        events += flt.finish()
    payloads = [json.loads(e[6:]) for e in events if e != b"data: [DONE]\n\n"]
    choices = [ch for p in payloads for ch in p["choices"]]
    assert "alpha" in "".join(ch["delta"].get("content") or "" for ch in choices)  # released
    assert choices[-1]["finish_reason"] == "content_filter"
    assert any(ch["delta"].get("refusal") for ch in choices)
    assert payloads[-1]["ringfence"]["choices"][0]["blocked"] is True
