"""Tool calls a local model writes as text (Hermes / Qwen2.5 templates) are read back only when
they are exactly calls of offered tools; anything else stays an answer."""

from __future__ import annotations

import pytest

from ringfence.agents._llama import text_tool_calls

OFFERED = {"read_file", "send_money"}


def test_tagged_calls_are_read_in_order() -> None:
    text = (
        '<tool_call>\n{"name": "read_file", "arguments": {"file_path": "bill.txt"}}\n</tool_call>\n'
        '<tool_call>{"name": "send_money", "arguments": "{\\"amount\\": 10}"}</tool_call>'
    )
    calls = text_tool_calls(text, OFFERED)
    assert [(c.id, c.name, dict(c.arguments)) for c in calls] == [
        ("call_0", "read_file", {"file_path": "bill.txt"}),
        ("call_1", "send_money", {"amount": 10}),
    ]


def test_a_bare_object_or_list_counts_too() -> None:
    (call,) = text_tool_calls('{"name": "read_file", "arguments": {"file_path": "a"}}', OFFERED)
    assert call.name == "read_file"
    two = text_tool_calls(
        '[{"name": "read_file", "arguments": {}}, {"name": "send_money"}]', OFFERED
    )
    assert [c.name for c in two] == ["read_file", "send_money"]


@pytest.mark.parametrize(
    "text",
    [
        "Your bill is paid.",
        '{"name": "delete_everything", "arguments": {}}',  # not offered: stays text, never called
        '{"name": "read_file", "arguments": ["a"]}',
        '{"answer": 42}',
        '<tool_call>{"name": "read_file", "arguments": {}}</tool_call> and <tool_call>oops',
        '{"name": "read_file", "arguments": "not json"}',
    ],
)
def test_anything_else_is_an_answer(text: str) -> None:
    assert text_tool_calls(text, OFFERED) == ()
