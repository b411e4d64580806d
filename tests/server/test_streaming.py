"""Streaming: the hold-back buffer never releases unchecked text or tool calls, and verdicts are
identical with and without streaming."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proxy_helpers import PATTERNS, POLICY, call, make_gateway, user

from ringfence.policy import Principal
from ringfence.server import Metrics, PatternChecker
from ringfence.server._exchange import Exchange

SECRET = "sk-live-ABCDEFGH12345678"


def chunks(text, calls, size):
    """Upstream chunks as an OpenAI endpoint streams them."""
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}

    def ev(delta, finish=None):
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    out = [ev({"role": "assistant", "content": ""})]
    out += [ev({"content": text[i : i + size]}) for i in range(0, len(text), size)]
    for i, c in enumerate(calls):
        args = json.dumps(c["arguments"])
        out.append(
            ev(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": f"call{i}",
                            "type": "function",
                            "function": {"name": c["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        out += [
            ev({"tool_calls": [{"index": i, "function": {"arguments": args[j : j + size]}}]})
            for j in range(0, len(args), size)
        ]
    out.append(ev({}, "tool_calls" if calls else "stop"))
    return out


def completion(text, calls):
    tcs = [
        {
            "id": f"call{i}",
            "type": "function",
            "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
        }
        for i, c in enumerate(calls)
    ]
    message = {"role": "assistant", "content": text or None}
    if tcs:
        message["tool_calls"] = tcs
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
        ],
    }


def exchange(gateway, stream, policy_hold=None):
    body = {"model": "m", "stream": stream, "messages": [user("mail me@corp.test please")]}
    ex = Exchange(gateway, PatternChecker(PATTERNS), Metrics(), Principal("alice"), body)
    assert isinstance(ex.prepare(), dict)
    return ex


def run_stream(gateway, text, calls, size):
    flt = exchange(gateway, True).stream_filter()
    events = [e for c in chunks(text, calls, size) for e in flt.feed(c)] + flt.finish()
    payloads = [json.loads(e[6:]) for e in events if e != b"data: [DONE]\n\n"]
    content, forwarded, finish = "", [], None
    for p in payloads:
        for ch in p["choices"]:
            content += ch["delta"].get("content") or ""
            forwarded += [
                (t["function"]["name"], t["function"]["arguments"])
                for t in ch["delta"].get("tool_calls") or ()
            ]
            finish = ch["finish_reason"] or finish
    return content, forwarded, finish, payloads[-1]["ringfence"], flt


def run_plain(gateway, text, calls):
    _status, body = exchange(gateway, False).respond(completion(text, calls))
    msg = body["choices"][0]["message"]
    forwarded = [
        (t["function"]["name"], t["function"]["arguments"]) for t in msg.get("tool_calls") or ()
    ]
    return msg["content"] or "", forwarded, body["choices"][0]["finish_reason"], body["ringfence"]


def verdicts(report):
    choice = report["choices"][0]
    return (
        choice["output"],
        choice["blocked"],
        [(d["tool"], d["decision"], d["rules"], d["forwarded"]) for d in choice["decisions"]],
    )


@pytest.fixture
def gateway():
    gw = make_gateway(POLICY)
    yield gw
    gw.close()


CALLS = [
    [],
    [call("send_email", to="me@corp.test", body="hi")],
    [call("send_email", to="x@evil.test"), call("get_order", order_id="4821")],
    [call("send_email", to="me@corp.test", body=f"key {SECRET}")],
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prefix=st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=200),
    suffix=st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=200),
    secret=st.booleans(),
    size=st.integers(1, 40),
    calls=st.sampled_from(CALLS),
)
def test_stream_never_leaks_and_agrees_with_non_streaming(
    gateway, prefix, suffix, secret, size, calls
):
    text = prefix + (SECRET if secret else "") + suffix
    s_content, s_calls, s_finish, s_report, _ = run_stream(gateway, text, calls, size)
    p_content, p_calls, p_finish, p_report = run_plain(gateway, text, calls)
    assert SECRET not in s_content and SECRET not in p_content
    assert verdicts(s_report) == verdicts(p_report)
    assert s_calls == p_calls and s_finish == p_finish
    if not p_report["choices"][0]["blocked"]:
        assert s_content == p_content


def test_text_is_released_before_the_end_within_the_hold_back(gateway):
    flt = exchange(gateway, True).stream_filter()
    released = ""
    text = "a" * 300
    for c in chunks(text, [], 10)[:-1]:
        for e in flt.feed(c):
            released += json.loads(e[6:])["choices"][0]["delta"].get("content") or ""
    assert 300 - 2 * 32 <= len(released) <= 300 - 32  # at most 2 x hold_back pending
    assert flt.window_checks > 0


def test_hold_back_all_releases_nothing_before_the_verdict():
    gateway = make_gateway(POLICY.replace("stream_hold_back: 32", "stream_hold_back: all"))
    flt = exchange(gateway, True).stream_filter()
    events = [e for c in chunks("b" * 500, [], 10)[:-1] for e in flt.feed(c)]
    assert len(events) == 1  # the role chunk only
    gateway.close()


def test_tool_call_deltas_are_never_forwarded_before_the_decision(gateway):
    flt = exchange(gateway, True).stream_filter()
    calls = [call("get_order", order_id="4821")]
    before = [e for c in chunks("ok", calls, 3)[:-1] for e in flt.feed(c)]
    assert not any(b"tool_calls" in e for e in before)
    after = flt.finish()
    assert any(b'"tool_calls"' in e and b"get_order" in e for e in after)


@pytest.mark.parametrize(
    ("text", "calls"),
    [
        ("Sure, sending it now.", [call("send_email", to="me@corp.test", body="hi")]),
        ("x" * 150 + SECRET + "y" * 100, []),
        (
            "Doing two things.",
            [call("send_email", to="x@evil.test"), call("get_order", order_id="4821")],
        ),
    ],
)
def test_same_verdicts_through_the_proxy_with_the_openai_client(stack, text, calls):
    client = stack.client()
    messages = [user("mail me@corp.test please")]
    extra = {"mock": {"text": text, "tool_calls": calls}}
    plain = client.chat.completions.create(model="m", messages=messages, extra_body=extra)
    stream = client.chat.completions.create(
        model="m", messages=messages, extra_body=extra, stream=True
    )
    content, forwarded, finish, report = "", [], None, None
    for chunk in stream:
        report = (chunk.model_extra or {}).get("ringfence") or report
        for ch in chunk.choices:
            content += ch.delta.content or ""
            forwarded += [
                (t.function.name, t.function.arguments) for t in ch.delta.tool_calls or ()
            ]
            finish = ch.finish_reason or finish
    msg = plain.choices[0].message
    assert verdicts(report) == verdicts(plain.model_extra["ringfence"])
    assert forwarded == [(t.function.name, t.function.arguments) for t in msg.tool_calls or ()]
    assert finish == plain.choices[0].finish_reason
    assert SECRET not in content and SECRET not in (msg.content or "")
