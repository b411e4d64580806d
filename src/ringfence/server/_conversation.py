"""Turning a chat-completions request into labelled content of a core session.

The request carries the whole conversation, so every request labels all of it into a fresh
session (whose value-origin index segments the items when a tool call is decided): system and
developer messages are trusted, user messages take the policy's trust for ``user``, assistant
messages are untrusted (model output), and tool results are content ``tool:NAME`` labelled as
the policy's ``output`` spec says (untrusted by default, with trusted fields of structured
results), exactly as if the gateway had executed the call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ringfence.exceptions import ConfigError
from ringfence.gateway import Session
from ringfence.provenance import ContentItem
from ringfence.server._guarding import Check, ContentChecker
from ringfence.server._wire import text_of

ROLE_SOURCES = {
    "system": "system",
    "developer": "developer",
    "user": "user",
    "assistant": "assistant",
}


@dataclass
class Labelled:
    """What labelling a request produced: the items, the input checks and the untrusted scans."""

    items: list[ContentItem] = field(default_factory=list)
    input_checks: list[Check] = field(default_factory=list)
    scans: list[Check] = field(default_factory=list)
    non_text: list[str] = field(default_factory=list)

    @property
    def input_blocked(self) -> Check | None:
        return next((c for c in self.input_checks if c.blocked), None)


def tool_names(messages: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Tool name of every ``tool_call_id`` proposed by an assistant message in the history."""
    names: dict[str, str] = {}
    for msg in messages:
        for call in msg.get("tool_calls") or ():
            if isinstance(call, Mapping) and isinstance(call.get("function"), Mapping):
                names[str(call.get("id"))] = str(call["function"].get("name") or "unknown")
    return names


def _tool_output(text: str) -> Any:
    """A tool message's content as the structured value it encodes, when it is JSON."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except ValueError:
            return text
    return text


def validate_messages(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The request's messages, or a ConfigError naming the field and the reason."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConfigError("'messages' must be a non-empty array")
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping):
            raise ConfigError(f"messages[{i}] must be an object")
        role = msg.get("role")
        if role not in (*ROLE_SOURCES, "tool", "function"):
            raise ConfigError(f"messages[{i}].role: unsupported role {role!r}")
    return messages


def label_request(
    session: Session, messages: Sequence[Mapping[str, Any]], checker: ContentChecker
) -> Labelled:
    """Add every message to ``session`` with its provenance; user text gets the input check,
    tool results the untrusted scan (assistant turns were checked when they were output)."""
    out = Labelled()
    names = tool_names(messages)
    for msg in messages:
        role = str(msg.get("role"))
        text, other = text_of(msg.get("content"))
        out.non_text.extend(other)
        if role in ("tool", "function"):
            name = str(msg.get("name") or names.get(str(msg.get("tool_call_id")), "unknown"))
            item = session.add_tool_output(name, _tool_output(text))
            out.items.append(item)
            out.scans.append(checker.scan(session, item))
            continue
        if not text:
            continue
        item = session.add_content(text, source=ROLE_SOURCES[role])
        out.items.append(item)
        if role == "user":  # the user's turn: its screen is the input check
            out.input_checks.append(checker.scan(session, item))
    return out
