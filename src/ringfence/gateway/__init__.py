"""The tool gateway: wraps tools so that every proposed call is decided, audited and only then
executed."""

from ringfence.gateway._answers import AnswerEvent, TracedAnswer
from ringfence.gateway._gateway import Gateway, TimedResolver
from ringfence.gateway._messages import refusal_message
from ringfence.gateway._replay import parse_trace, replay
from ringfence.gateway._session import (
    SCHEMA_RULE,
    UNKNOWN_TOOL_RULE,
    ApprovalHook,
    ApprovalOutcome,
    ApprovalStatus,
    CallResult,
    OutputRecorder,
    Proposal,
    Session,
    StagingHook,
    flatten,
)
from ringfence.gateway._tool import ArgsInvalid, Tool, tool_from_function, tool_from_openai

__all__ = [
    "SCHEMA_RULE",
    "UNKNOWN_TOOL_RULE",
    "AnswerEvent",
    "ApprovalHook",
    "ApprovalOutcome",
    "ApprovalStatus",
    "ArgsInvalid",
    "CallResult",
    "Gateway",
    "OutputRecorder",
    "Proposal",
    "Session",
    "StagingHook",
    "TimedResolver",
    "Tool",
    "TracedAnswer",
    "flatten",
    "parse_trace",
    "refusal_message",
    "replay",
    "tool_from_function",
    "tool_from_openai",
]
