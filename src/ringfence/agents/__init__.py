"""Agents: the bundled reference agent, chat-model adapters and the agent loop.

Model backends by spec: ``scripted:compliant``, ``scripted:worst-case``, ``openai:URL#MODEL``,
``gguf:PATH`` (optional extra ``local``). Environments by name: ``support-desk``.
"""

from ringfence.agents import _llama as _llama  # registers the "gguf" backend
from ringfence.agents import _openai as _openai  # registers the "openai" backend
from ringfence.agents._environment import (
    ENVIRONMENTS,
    Environment,
    World,
    environment,
    get_environment,
)
from ringfence.agents._grammar import Instruction, jailbreak_marker, parse_instructions
from ringfence.agents._guarding import SessionGuardHook, as_screening
from ringfence.agents._llama import LlamaCppModel
from ringfence.agents._loop import (
    GuardEvent,
    GuardHook,
    GuardStage,
    GuardVerdict,
    Screening,
    Transcript,
    run_agent,
    screen_answer,
    screen_input,
    screen_tool_output,
    screen_turn,
)
from ringfence.agents._model import (
    MODEL_BACKENDS,
    ChatModel,
    Message,
    ModelReply,
    ToolCallRequest,
    Usage,
    make_model,
    model_backend,
)
from ringfence.agents._openai import OpenAIChatModel
from ringfence.agents._runner import (
    CallDecision,
    DirectRunner,
    GatewayRunner,
    ToolCallRecord,
    ToolRunner,
)
from ringfence.agents._scripted import ScriptedMode, ScriptedModel

__all__ = [
    "ENVIRONMENTS",
    "MODEL_BACKENDS",
    "CallDecision",
    "ChatModel",
    "DirectRunner",
    "Environment",
    "GatewayRunner",
    "GuardEvent",
    "GuardHook",
    "GuardStage",
    "GuardVerdict",
    "Instruction",
    "LlamaCppModel",
    "Message",
    "ModelReply",
    "OpenAIChatModel",
    "Screening",
    "ScriptedMode",
    "ScriptedModel",
    "SessionGuardHook",
    "ToolCallRecord",
    "ToolCallRequest",
    "ToolRunner",
    "Transcript",
    "Usage",
    "World",
    "as_screening",
    "environment",
    "get_environment",
    "jailbreak_marker",
    "make_model",
    "model_backend",
    "parse_instructions",
    "run_agent",
    "screen_answer",
    "screen_input",
    "screen_tool_output",
    "screen_turn",
]
