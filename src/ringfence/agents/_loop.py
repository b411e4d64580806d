"""The agent loop: user turn -> model -> tool calls through a runner -> ... -> answer.

Guards plug in through :class:`GuardHook` at three points: user turns, tool outputs (before the
model sees them) and the final answer. Content is recorded with the runner first and screened
then, so a hook may read the verdict the runner's gateway session already reached
(:class:`ringfence.agents.SessionGuardHook`). A hook that raises fails closed: the content is
withheld or the answer replaced, and the event is recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol, runtime_checkable

from ringfence.agents._model import ChatModel, Message, ToolCallRequest, Usage
from ringfence.agents._runner import ToolCallRecord, ToolRunner
from ringfence.provenance import Span

GuardVerdict = Literal["pass", "flag", "block", "error"]
"""A guard's verdict on content: pass it, flag it (taint it for the policy), block it, or the
guard failed (acts as block)."""

GuardStage = Literal["input", "tool_output", "output"]

WITHHELD = "[content withheld by a guard: {reason}]"
INPUT_BLOCKED = "Your message was blocked by a safety check and was not processed."
OUTPUT_BLOCKED = "The answer was withheld by a safety check."
MAX_STEPS = 12


@dataclass(frozen=True)
class Screening:
    """A guard's answer for one piece of content. ``spans`` narrow a ``flag`` to parts."""

    verdict: GuardVerdict
    spans: tuple[Span, ...] = ()
    reason: str = ""
    text: str | None = None
    """What to show instead: an answer the guards rewrote (redacted) or a refusal template
    (for a ``block``); ``None`` keeps the text (or uses the loop's own withheld notice)."""
    recorded: bool = False
    """The runner's session already tainted the content as this screening says (the hook
    reports the session's own guard verdict), so the loop does not taint it again."""


@runtime_checkable
class GuardHook(Protocol):
    """Where guards plug into a run (``ringfence.guards`` adapts to this)."""

    def screen_content(self, text: str, source: str) -> Screening:
        """Screen a user turn (``source`` ``user``) or a tool output (``tool:NAME``)."""
        ...

    def screen_output(self, text: str) -> Screening:
        """Screen the model's answer before the user sees it."""
        ...


@dataclass(frozen=True)
class GuardEvent:
    """One non-pass screening during a run."""

    stage: GuardStage
    source: str
    verdict: GuardVerdict
    reason: str


@dataclass
class Transcript:
    """Everything one run of an agent did: messages, tool calls, answers, usage."""

    messages: list[Message] = field(default_factory=list)
    calls: list[ToolCallRecord] = field(default_factory=list)
    turn_outputs: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model_calls: int = 0
    guard_events: list[GuardEvent] = field(default_factory=list)
    stopped: bool = False
    """A turn hit the step limit before the model answered."""

    @property
    def output(self) -> str:
        """All answers of the conversation, one per turn."""
        return "\n".join(self.turn_outputs)

    @property
    def final_output(self) -> str:
        return self.turn_outputs[-1] if self.turn_outputs else ""


def run_agent(
    model: ChatModel,
    runner: ToolRunner,
    system_prompt: str,
    turns: Sequence[str],
    *,
    hooks: Sequence[GuardHook] = (),
    max_steps: int = MAX_STEPS,
) -> Transcript:
    """Run a conversation. Exceptions from the model propagate (the caller records an error)."""
    out = Transcript(messages=[Message("system", system_prompt)])
    runner.add_content(system_prompt, "system")
    tools = runner.schemas()
    for index, text in enumerate(turns):
        screening = screen_turn(out, hooks, runner, text)
        out.messages.append(Message("user", text))
        if screening.verdict in ("block", "error"):
            out.turn_outputs.append(screening.text or INPUT_BLOCKED)
            continue
        answer = _turn(model, runner, tools, out, hooks, index, max_steps)
        out.turn_outputs.append(screen_answer(out, hooks, answer))
    return out


def screen_turn(
    out: Transcript, hooks: Sequence[GuardHook], runner: ToolRunner, text: str
) -> Screening:
    """Record a user turn with the runner, then screen it. A flag taints it (or its spans); a
    block, or a guard that fails, taints it whole: the caller does not send it to the model."""
    item = runner.add_content(text, "user")
    screening = _screen(out, hooks, "input", "user", text)
    if screening.verdict != "pass" and item is not None and not screening.recorded:
        spans = screening.spans if screening.verdict == "flag" else ()
        runner.taint(item, spans, screening.reason or screening.verdict)
    return screening


def _turn(
    model: ChatModel,
    runner: ToolRunner,
    tools: list[dict[str, object]],
    out: Transcript,
    hooks: Sequence[GuardHook],
    index: int,
    max_steps: int,
) -> str:
    for _ in range(max_steps):
        reply = model.complete(out.messages, tools)
        out.usage += reply.usage
        out.model_calls += 1
        out.messages.append(reply.as_message())
        if not reply.tool_calls:
            return reply.content
        for request in reply.tool_calls:
            record = replace(_call(runner, request), turn=index)
            out.calls.append(record)
            content = screen_tool_output(out, hooks, runner, record)
            out.messages.append(Message("tool", content, tool_call_id=request.id, name=record.tool))
    out.stopped = True
    return f"(stopped after {max_steps} steps without an answer)"


def _call(runner: ToolRunner, request: ToolCallRequest) -> ToolCallRecord:
    call_id = request.id or uuid.uuid4().hex[:16]
    if request.raw_arguments is not None:
        msg = f"The call to '{request.name}' has invalid arguments: they are not a JSON object"
        return ToolCallRecord(call_id, request.name, {}, "unguarded", False, False, msg, error=msg)
    return runner.call(request.name, request.arguments, call_id)


def screen_tool_output(
    out: Transcript, hooks: Sequence[GuardHook], runner: ToolRunner, record: ToolCallRecord
) -> str:
    """What the model sees of a tool result after the guards: the result, or a withheld note.

    A flag taints the whole result for the policy (values taken from it count as injected); a
    block, or a guard that fails, withholds it from the model and taints it too."""
    if not record.executed or not record.ok:
        return record.message
    screening = _screen(out, hooks, "tool_output", f"tool:{record.tool}", record.message)
    if screening.verdict == "pass":
        return record.message
    if record.content_id is not None and not screening.recorded:
        # spans of a tool result's text do not map onto its structured fields: taint it whole
        runner.taint(record.content_id, (), screening.reason)
    if screening.verdict == "flag":
        return record.message
    return WITHHELD.format(reason=screening.reason or screening.verdict)


def screen_answer(out: Transcript, hooks: Sequence[GuardHook], answer: str) -> str:
    """The answer the user sees after the guards: replaced when blocked (by the guards' refusal
    template, else a withheld notice) or when a guard fails; rewritten when a guard redacted it
    (the next hook sees the rewritten answer)."""
    for hook in hooks:
        try:
            verdict = hook.screen_output(answer)
        except Exception as exc:  # a guard that fails never lets content through
            verdict = Screening("error", reason=f"{type(exc).__name__}: {exc}")
        if verdict.verdict != "pass":
            out.guard_events.append(GuardEvent("output", "assistant", verdict.verdict,
                                               verdict.reason))  # fmt: skip
        if verdict.verdict == "error":
            return OUTPUT_BLOCKED
        if verdict.verdict == "block":
            return verdict.text or OUTPUT_BLOCKED
        if verdict.text is not None:
            answer = verdict.text
    return answer


def screen_input(out: Transcript, hooks: Sequence[GuardHook], text: str) -> Screening:
    """The guards' verdict on a user turn (without recording it: see :func:`screen_turn`)."""
    return _screen(out, hooks, "input", "user", text)


def _screen(
    out: Transcript, hooks: Sequence[GuardHook], stage: GuardStage, source: str, text: str
) -> Screening:
    """Run every hook; the first block/error wins, flags are merged."""
    spans: list[Span] = []
    reasons: list[str] = []
    whole, recorded = False, True
    for hook in hooks:
        try:
            result = hook.screen_content(text, source)
        except Exception as exc:  # a guard that fails never lets content through
            result = Screening("error", reason=f"{type(exc).__name__}: {exc}")
        if result.verdict == "pass":
            continue
        out.guard_events.append(GuardEvent(stage, source, result.verdict, result.reason))
        if result.verdict in ("block", "error"):
            return result
        spans.extend(result.spans)
        whole = whole or not result.spans
        recorded = recorded and result.recorded
        reasons.append(result.reason)
    if reasons:
        merged = () if whole else tuple(spans)
        reason = "; ".join(r for r in reasons if r)
        return Screening("flag", merged, reason, recorded=recorded)
    return Screening("pass")
