"""Serving: the OpenAI-compatible guarding proxy, its mock upstream, and the MCP tool gateway.

The proxy and the gateway are adapters: they turn wire formats into the core flow (label ->
guards -> policy decision -> approval -> audit) and never decide anything themselves. The MCP
gateway needs the ``mcp`` extra and lives in :mod:`ringfence.server.mcp`.
"""

from ringfence.server._decide import CallDecision, ChoiceOutcome, decide_call, decide_choice
from ringfence.server._guarding import (
    Check,
    ContentChecker,
    Direction,
    GuardVerdict,
    PatternChecker,
    SessionGuards,
)
from ringfence.server._keys import Client, KeyRing, KeySpec, hash_key, key_entry, new_key
from ringfence.server._limits import RateLimiter
from ringfence.server._metrics import Metrics
from ringfence.server._mock import MockReply, MockRule, MockScript, MockToolCall, MockUpstream
from ringfence.server._proxy import Proxy, ProxyConfig, build_app
from ringfence.server._setup import Serving, open_serving
from ringfence.server._stream import StreamFilter

__all__ = [
    "CallDecision",
    "Check",
    "ChoiceOutcome",
    "Client",
    "ContentChecker",
    "Direction",
    "GuardVerdict",
    "KeyRing",
    "KeySpec",
    "Metrics",
    "MockReply",
    "MockRule",
    "MockScript",
    "MockToolCall",
    "MockUpstream",
    "PatternChecker",
    "Proxy",
    "ProxyConfig",
    "RateLimiter",
    "Serving",
    "SessionGuards",
    "StreamFilter",
    "build_app",
    "decide_call",
    "decide_choice",
    "hash_key",
    "key_entry",
    "new_key",
    "open_serving",
]
