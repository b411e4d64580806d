"""An OpenAI-compatible chat endpoint with tool calling (``/chat/completions``), over httpx.

Works with any server that speaks the format (vLLM, llama.cpp server, Ollama, LiteLLM, the
ringfence proxy). Tests pass an ``httpx.MockTransport``; nothing here needs the network to be
imported. Transport errors, HTTP errors and malformed replies become :class:`ModelError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from ringfence.agents._model import Message, ModelReply, ToolCallRequest, Usage, model_backend
from ringfence.exceptions import ConfigError, ModelError


class OpenAIChatModel:
    """A chat model behind an OpenAI-compatible ``base_url`` (e.g. ``http://host:8000/v1``)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 60.0,
        temperature: float = 0.0,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base URL {base_url!r} must start with http:// or https://")
        key = (
            api_key
            or os.environ.get("RINGFENCE_OPENAI_API_KEY")
            or os.environ.get("OPENAI_API_KEY")
        )
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.name = f"openai:{model}"
        self.model = model
        self.temperature = temperature
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), transport=transport, timeout=timeout_s, headers=headers
        )

    def complete(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]
    ) -> ModelReply:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [m.to_openai() for m in messages],
            "temperature": self.temperature,
        }
        if tools:
            body["tools"] = list(tools)
            body["tool_choice"] = "auto"
        try:
            response = self._client.post("/chat/completions", json=body)
            response.raise_for_status()
            data = response.json()
        except httpx.HTTPStatusError as exc:
            detail = exc.response.text[:200]
            raise ModelError(f"{self.name}: HTTP {exc.response.status_code}: {detail}") from exc
        except httpx.HTTPError as exc:
            raise ModelError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        except ValueError as exc:
            raise ModelError(f"{self.name}: the reply is not JSON") from exc
        return parse_chat_completion(data, self.name)

    def close(self) -> None:
        self._client.close()


def parse_chat_completion(data: Any, who: str = "model") -> ModelReply:
    """A :class:`ModelReply` from an OpenAI ``chat.completion`` object."""
    try:
        message = data["choices"][0]["message"]
        calls = tuple(_tool_call(c, i) for i, c in enumerate(message.get("tool_calls") or []))
        content = message.get("content") or ""
        if not isinstance(content, str):
            raise TypeError("content is not a string")
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ModelError(f"{who}: malformed chat completion: {exc!r}") from exc
    usage = data.get("usage") or {}
    return ModelReply(
        content,
        calls,
        Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)),
    )


def _tool_call(raw: Mapping[str, Any], index: int) -> ToolCallRequest:
    fn = raw["function"]
    name = str(fn["name"])
    args = fn.get("arguments") or "{}"
    call_id = str(raw.get("id") or f"call_{index}")
    if isinstance(args, Mapping):
        return ToolCallRequest(call_id, name, dict(args))
    try:
        parsed = json.loads(args)
    except (TypeError, ValueError):
        return ToolCallRequest(call_id, name, {}, raw_arguments=str(args))
    if not isinstance(parsed, dict):
        return ToolCallRequest(call_id, name, {}, raw_arguments=str(args))
    return ToolCallRequest(call_id, name, parsed)


def split_openai_spec(rest: str) -> tuple[str, str]:
    """``URL#MODEL`` -> (URL, MODEL)."""
    url, sep, model = rest.rpartition("#")
    if not sep or not url or not model:
        raise ConfigError(f"an OpenAI target needs URL#MODEL, e.g. http://localhost:8000/v1#qwen, "
                          f"got {rest!r}")  # fmt: skip
    return url, model


@model_backend("openai")
def _openai_backend(rest: str) -> OpenAIChatModel:
    url, model = split_openai_spec(rest)
    return OpenAIChatModel(url, model)
