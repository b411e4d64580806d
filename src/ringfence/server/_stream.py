"""Streaming with a bounded hold-back buffer: no unchecked text or tool call reaches the client.

Per choice, text deltas are buffered. Once ``2 * hold_back`` characters are pending, the output
guards check the last ``hold_back`` released characters plus everything pending (so a pattern
that straddles a boundary is seen whole), and everything but the last ``hold_back`` characters
is released. Tool-call deltas are never forwarded as they arrive: the calls are assembled and,
when the upstream finishes, decided by :func:`decide_choice`, the same function the
non-streaming path uses, on the full text. That final check is the verdict; a window check
that blocks only stops early release. A window check that rewrites the text (a guard with
``action: redact``) also stops early release for that choice: the rest is sent from the final,
rewritten text (and if that rewrite reaches into text already released, the stream ends with
the refusal instead). ``hold_back="all"`` releases nothing before the verdict. Delta fields
other than role, content, refusal and tool_calls are dropped (nothing unchecked).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ringfence.server._decide import ChoiceOutcome, check_text
from ringfence.server._guarding import Check
from ringfence.server._wire import DONE, Json, chunk, delta_choice, error_body, sse

Decider = Callable[[str | None, str | None, list[dict[str, Any]], str | None], ChoiceOutcome]
WindowCheck = Callable[[str], Check]
Blocker = Callable[[ChoiceOutcome], ChoiceOutcome]


@dataclass
class _Choice:
    index: int
    role_sent: bool = False
    content: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    pending: str = ""
    released: int = 0
    tail: str = ""
    stopped: bool = False
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    finish_reason: str | None = None

    def add_call_delta(self, delta: Mapping[str, Any]) -> None:
        slot = self.calls.setdefault(
            int(delta.get("index") or 0), {"id": "", "type": "function", "name": "", "args": []}
        )
        if delta.get("id"):
            slot["id"] = str(delta["id"])
        if delta.get("type"):
            slot["type"] = str(delta["type"])
        fn = delta.get("function") or {}
        if fn.get("name"):
            slot["name"] += str(fn["name"])
        if fn.get("arguments"):
            slot["args"].append(str(fn["arguments"]))

    def tool_calls(self) -> list[dict[str, Any]]:
        return [
            {
                "id": c["id"],
                "type": c["type"],
                "function": {"name": c["name"], "arguments": "".join(c["args"])},
            }
            for _, c in sorted(self.calls.items())
        ]


class StreamFilter:
    """Feeds on upstream chunks, emits checked SSE events. ``decide`` is the shared decision
    function; ``window_check`` runs the output guards on a window of text."""

    def __init__(
        self,
        decide: Decider,
        window_check: WindowCheck,
        hold_back: int | Literal["all"],
        *,
        refusal_text: str,
        block_as_error: bool,
        extra: Callable[[list[ChoiceOutcome]], Json],
        block: Blocker | None = None,
    ) -> None:
        self._decide, self._window_check = decide, window_check
        self._block = block or _blocked
        self._hold = None if hold_back == "all" else int(hold_back)
        self._refusal_text, self._block_as_error, self._extra = refusal_text, block_as_error, extra
        self._choices: dict[int, _Choice] = {}
        self._base: Json = {}
        self._usage: Any = None
        self.window_checks = 0

    def feed(self, data: Mapping[str, Any]) -> list[bytes]:
        """One upstream chunk in; the events that may be sent now out."""
        if not self._base:
            self._base = {k: data.get(k) for k in ("id", "created", "model", "system_fingerprint")}
        if data.get("usage"):
            self._usage = data["usage"]
        out: list[bytes] = []
        for raw in data.get("choices") or ():
            choice = self._choices.setdefault(
                int(raw.get("index") or 0), _Choice(int(raw.get("index") or 0))
            )
            out.extend(self._feed_choice(choice, raw))
        return out

    def _feed_choice(self, choice: _Choice, raw: Mapping[str, Any]) -> list[bytes]:
        delta = raw.get("delta") or {}
        out = []
        if not choice.role_sent:
            choice.role_sent = True
            out.append(self._event(choice.index, {"role": "assistant", "content": ""}))
        if delta.get("content"):
            choice.content.append(str(delta["content"]))
            choice.pending += str(delta["content"])
        if delta.get("refusal"):
            choice.refusal.append(str(delta["refusal"]))
        for call in delta.get("tool_calls") or ():
            choice.add_call_delta(call)
        if raw.get("finish_reason"):
            choice.finish_reason = str(raw["finish_reason"])
        released = self._release(choice)
        if released:
            out.append(self._event(choice.index, {"content": released}))
        return out

    def _release(self, choice: _Choice) -> str:
        hold = self._hold
        if hold is None or choice.stopped or len(choice.pending) < 2 * hold:
            return ""
        self.window_checks += 1
        check = self._window_check(choice.tail + choice.pending)
        if check.blocked or check.text is not None:
            choice.stopped = True  # hold everything; the final check on the full text decides
            return ""
        text, choice.pending = choice.pending[:-hold], choice.pending[-hold:]
        choice.tail = (choice.tail + text)[-hold:]
        choice.released += len(text)
        return text

    def finish(self) -> list[bytes]:
        """The upstream finished: decide every choice and emit the rest of the stream."""
        outcomes, events = [], []
        for index in sorted(self._choices):
            choice = self._choices[index]
            content = "".join(choice.content) or None
            refusal = "".join(choice.refusal) or None
            outcome = self._decide(content, refusal, choice.tool_calls(), choice.finish_reason)
            sent = "".join(choice.content)[: choice.released]
            if not outcome.blocked and not (outcome.content or "").startswith(sent):
                outcome = self._block(outcome)  # a rewrite reached text already released
            outcomes.append(outcome)
            if outcome.blocked and self._block_as_error:
                err = error_body(
                    "the response was blocked by the output guards",
                    "content_blocked",
                    "output_blocked",
                )
                return [sse(err)]
            events.extend(self._finish_choice(choice, outcome))
        last = chunk(self._base, [], ringfence=self._extra(outcomes))
        if self._usage is not None:
            last["usage"] = self._usage
        return [*events, sse(last), DONE]

    def _finish_choice(self, choice: _Choice, outcome: ChoiceOutcome) -> list[bytes]:
        out = []
        if not choice.role_sent:
            out.append(self._event(choice.index, {"role": "assistant", "content": ""}))
        if outcome.blocked:
            text = self._refusal_text
            prefix = "\n\n" if choice.released else ""
            out.append(self._event(choice.index, {"content": prefix + text, "refusal": text}))
        else:
            rest = (outcome.content or "")[choice.released :]
            if rest:
                out.append(self._event(choice.index, {"content": rest}))
            if outcome.refusal:
                out.append(self._event(choice.index, {"refusal": outcome.refusal}))
            if outcome.tool_calls:
                calls = [{"index": i, **c} for i, c in enumerate(outcome.tool_calls)]
                out.append(self._event(choice.index, {"tool_calls": calls}))
        out.append(sse(chunk(self._base, [delta_choice(choice.index, {}, outcome.finish_reason)])))
        return out

    def _event(self, index: int, delta: Json) -> bytes:
        return sse(chunk(self._base, [delta_choice(index, delta)]))

    def has_tool_calls(self) -> bool:
        """Whether the upstream proposed any tool call (deciding them may write durably)."""
        return any(c.calls for c in self._choices.values())

    def text_size(self) -> int:
        """Characters of text received so far, over all choices."""
        return sum(len(t) for c in self._choices.values() for t in (*c.content, *c.refusal))

    def finished_choices(self) -> bool:
        """Whether the upstream has finished at least one choice (sent a finish_reason)."""
        return any(c.finish_reason for c in self._choices.values())

    def full_text(self, index: int = 0) -> str:
        choice = self._choices.get(index)
        if choice is None:
            return ""
        return check_text("".join(choice.content) or None, "".join(choice.refusal) or None)


def _blocked(outcome: ChoiceOutcome) -> ChoiceOutcome:
    return ChoiceOutcome(
        outcome.content, [], "content_filter", outcome.output, outcome.decisions, blocked=True
    )
