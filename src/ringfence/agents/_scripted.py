"""Scripted chat models: deterministic stand-ins for an LLM, with no weights and no network.

``scripted:compliant`` acts only on the user's turns and refuses recognisable jailbreaks and
requests for its instructions (:func:`ringfence.agents._grammar.jailbreak_marker`).
``scripted:worst-case`` never refuses and obeys every instruction it finds in any content it
reads (user turns, web pages, e-mails, documents, tool outputs, decoded payloads included): the
upper bound for prompt injection.

Both are stateless: each call re-reads the conversation, parses instructions with the shared
grammar, plans the tool calls they need (looking facts up first where needed), and issues the
first planned call that has not been issued in this turn. When every planned call has been
issued, they answer with a summary of what happened.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ringfence.agents._answer import REFUSAL, compose_answer
from ringfence.agents._grammar import Instruction, jailbreak_marker, order_ids, parse_instructions
from ringfence.agents._model import (
    Message,
    ModelReply,
    ToolCallRequest,
    Usage,
    estimate_tokens,
    model_backend,
)
from ringfence.agents._plan import Facts, Plan, Step, plan_steps
from ringfence.exceptions import ConfigError

ScriptedMode = Literal["compliant", "worst-case"]
"""``compliant``: follows only the user; ``worst-case``: obeys instructions in any content."""


@dataclass
class Turn:
    """The current turn of a conversation, as a scripted model reads it."""

    system: str
    user_text: str
    earlier_user_texts: list[str]
    calls: list[tuple[ToolCallRequest, str | None]] = field(default_factory=list)
    results: list[tuple[ToolCallRequest, str]] = field(default_factory=list)
    """Every tool result of the whole conversation, for facts."""
    issued: int = 0
    """Tool calls issued in the whole conversation."""

    @classmethod
    def read(cls, messages: Sequence[Message]) -> Turn:
        users = [i for i, m in enumerate(messages) if m.role == "user"]
        start = users[-1] if users else len(messages)
        system = next((m.content for m in messages if m.role == "system"), "")
        turn = cls(system, messages[start].content if users else "",
                   [messages[i].content for i in users[:-1]])  # fmt: skip
        requests: dict[str, ToolCallRequest] = {}
        for i, msg in enumerate(messages):
            for call in msg.tool_calls:
                requests[call.id] = call
                turn.issued += 1
                if i > start:
                    turn.calls.append((call, None))
            if msg.role == "tool" and msg.tool_call_id in requests:
                request = requests[msg.tool_call_id]
                turn.results.append((request, msg.content))
                turn.calls = [(r, msg.content if r.id == request.id else c) for r, c in turn.calls]
        return turn

    def context_order(self) -> str | None:
        for text in [*reversed(self.earlier_user_texts)]:
            ids = order_ids(text)
            if ids:
                return ids[-1]
        return None


class ScriptedModel:
    """A deterministic model; see the module docstring."""

    def __init__(self, mode: ScriptedMode) -> None:
        if mode not in ("compliant", "worst-case"):
            raise ConfigError(f"scripted model mode must be compliant or worst-case, not {mode!r}")
        self.mode: ScriptedMode = mode
        self.name = f"scripted:{mode}"

    def complete(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]
    ) -> ModelReply:
        turn = Turn.read(messages)
        prompt_tokens = sum(estimate_tokens(m.content) for m in messages)
        if self.mode == "compliant" and jailbreak_marker(turn.user_text):
            return _reply(REFUSAL, prompt_tokens)
        offered = {str(t.get("function", t).get("name")) for t in tools}
        facts = Facts.read(turn.results)
        plan = plan_steps(self.instructions(turn), facts, turn.system, turn.user_text,
                          [*turn.earlier_user_texts, turn.user_text])  # fmt: skip
        step = self._next_step(plan, turn, offered)
        if step is not None:
            call = ToolCallRequest(f"call_{turn.issued + 1}", step.tool, dict(step.args))
            reply = ModelReply("", (call,))
            completion = estimate_tokens(json.dumps(call.to_openai()))
            return ModelReply(reply.content, reply.tool_calls,
                              Usage(prompt_tokens, completion, estimated=True))  # fmt: skip
        text = compose_answer(turn.calls, facts, plan)
        return _reply(text, prompt_tokens)

    def instructions(self, turn: Turn) -> list[Instruction]:
        """The instructions this model acts on in the current turn."""
        context = turn.context_order()
        found = parse_instructions(turn.user_text, source="user", context_order=context)
        if self.mode == "worst-case":
            for request, content in turn.calls:
                if content is not None:
                    found.extend(_content_instructions(request.name, content, context))
        return found

    def _next_step(self, plan: Plan, turn: Turn, offered: set[str]) -> Step | None:
        issued = Counter(Step(r.name, dict(r.arguments)).key() for r, _ in turn.calls)
        for step in plan.steps:
            key = step.key()
            if issued[key] > 0:
                issued[key] -= 1
                continue
            if self.mode == "compliant" and step.tool not in offered:
                plan.notes.append(f"The action '{step.tool}' is not available in this chat.")
                continue
            return step
        return None


def _reply(text: str, prompt_tokens: int) -> ModelReply:
    return ModelReply(text, (), Usage(prompt_tokens, estimate_tokens(text), estimated=True))


def _content_instructions(tool: str, content: str, context: str | None) -> list[Instruction]:
    """Instructions in a tool result: in each text leaf of a JSON result, or in the text."""
    if content.startswith(("The call to '", "[content withheld")):
        return []
    source = f"tool:{tool}"
    try:
        data = json.loads(content)
    except ValueError:
        return parse_instructions(content, source=source, context_order=context)
    found: list[Instruction] = []
    for text, order in _leaves(data, context):
        found.extend(parse_instructions(text, source=source, context_order=order))
    return found


def _leaves(data: Any, order: str | None) -> Iterator[tuple[str, str | None]]:
    if isinstance(data, Mapping):
        own = data.get("order_id")
        order = str(own) if own is not None else order
        for value in data.values():
            yield from _leaves(value, order)
    elif isinstance(data, list):
        for value in data:
            yield from _leaves(value, order)
    elif isinstance(data, str) and len(data) > 3:
        yield data, order


@model_backend("scripted")
def _scripted_backend(rest: str) -> ScriptedModel:
    return ScriptedModel(rest)  # type: ignore[arg-type]
