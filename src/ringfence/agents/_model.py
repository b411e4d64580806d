"""Chat messages, model replies and the :class:`ChatModel` protocol with its backend registry.

A backend is named by a spec string ``KIND:REST``: ``scripted:worst-case``, ``scripted:compliant``,
``openai:http://host:8000/v1#MODEL``, ``gguf:/path/model.gguf``. Backends register a factory with
:func:`model_backend`; third-party backends use the entry-point group ``ringfence.models``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal, Protocol, runtime_checkable

from ringfence.exceptions import ConfigError

Role = Literal["system", "user", "assistant", "tool"]
"""Who wrote a message: the system prompt, the user, the model, or a tool result."""

ENTRY_POINT_GROUP = "ringfence.models"


@dataclass(frozen=True)
class ToolCallRequest:
    """A tool call the model proposed. ``raw_arguments`` keeps arguments that were not JSON."""

    id: str
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    raw_arguments: str | None = None

    def to_openai(self) -> dict[str, Any]:
        args = self.raw_arguments
        if args is None:
            args = json.dumps(dict(self.arguments), ensure_ascii=False, sort_keys=True)
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": args},
        }


@dataclass(frozen=True)
class Message:
    """One chat message. Tool results carry ``tool_call_id`` and the tool's ``name``."""

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCallRequest, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None

    def to_openai(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [c.to_openai() for c in self.tool_calls]
            out["content"] = self.content or None
        if self.role == "tool":
            out["tool_call_id"] = self.tool_call_id or ""
        return out


@dataclass(frozen=True)
class Usage:
    """Token counts of one or more model calls. ``estimated``: counted approximately
    (characters / 4) because the backend does not report them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.estimated or other.estimated,
        )


@dataclass(frozen=True)
class ModelReply:
    """What the model answered: text, tool calls, or both."""

    content: str = ""
    tool_calls: tuple[ToolCallRequest, ...] = ()
    usage: Usage = field(default_factory=Usage)

    def as_message(self) -> Message:
        return Message("assistant", self.content, self.tool_calls)


@runtime_checkable
class ChatModel(Protocol):
    """A chat model with tool calling. ``tools`` are OpenAI function schemas."""

    name: str

    def complete(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]
    ) -> ModelReply: ...


ModelFactory = Callable[[str], ChatModel]
"""Builds a model from the part of the spec after ``KIND:``."""

MODEL_BACKENDS: dict[str, ModelFactory] = {}


def model_backend(kind: str) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator: register a factory for model specs ``KIND:...``."""

    def register(factory: ModelFactory) -> ModelFactory:
        MODEL_BACKENDS[kind] = factory
        return factory

    return register


def make_model(spec: str) -> ChatModel:
    """Build a model from ``KIND:REST`` (see the module docstring)."""
    kind, sep, rest = spec.partition(":")
    if not sep:
        raise ConfigError(f"model spec {spec!r} must look like KIND:..., e.g. scripted:compliant")
    factory = MODEL_BACKENDS.get(kind) or _from_entry_points(kind)
    if factory is None:
        known = ", ".join(sorted(MODEL_BACKENDS))
        raise ConfigError(f"unknown model backend {kind!r} in {spec!r} (known: {known})")
    return factory(rest)


def _from_entry_points(kind: str) -> ModelFactory | None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            factory: ModelFactory = ep.load()
            MODEL_BACKENDS[kind] = factory
            return factory
    return None


def estimate_tokens(text: str) -> int:
    """A rough token count (characters / 4) for backends that do not report usage."""
    return max(1, (len(text) + 3) // 4) if text else 0
