"""AgentDojo tool results: what the model sees, and their leaves by field path.

A tool returns a raw Python value (pydantic models, lists, dicts, strings, numbers, ``None``).
The model sees AgentDojo's rendering of it (YAML, or ``str()``); provenance is tracked on the
raw value, leaf by leaf, because the rendering re-wraps and re-quotes text (an injected sentence
is often not verbatim in the rendered text).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

KEY = "__key__"
"""Path suffix of a dict key that is data (a hotel's name, an address a file is shared with)."""


class Rendered(str):
    """The text the model sees of a tool result, carrying the raw result (``raw``)."""

    raw: Any

    def __new__(cls, text: str, raw: Any) -> Rendered:
        made = super().__new__(cls, text)
        made.raw = raw
        return made


def leaves(raw: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(path, text)`` of every scalar in a raw result. Model fields by name, list items by
    index, dict entries by key, and each key of a data dict also as ``PATH.__key__``."""
    if raw is None:
        return
    if isinstance(raw, BaseModel):
        for name in type(raw).model_fields:
            yield from leaves(getattr(raw, name), _join(prefix, name))
    elif isinstance(raw, Mapping):
        for key, value in raw.items():
            path = _join(prefix, str(key))
            yield f"{path}.{KEY}", str(key)
            yield from leaves(value, path)
    elif isinstance(raw, list | tuple | set | frozenset):
        for i, value in enumerate(raw):
            yield from leaves(value, _join(prefix, str(i)))
    else:
        yield prefix or "value", _scalar(raw)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _scalar(value: Any) -> str:
    """Enums by value (``received``), everything else as ``str`` (dates: ``2024-05-15 10:00:00``,
    as AgentDojo renders them)."""
    return str(value.value) if isinstance(value, enum.Enum) else str(value)


def is_structured(raw: Any) -> bool:
    """Whether a result has fields (anything but a string, a number or ``None``)."""
    return isinstance(raw, BaseModel | Mapping | list | tuple | set | frozenset)


def normalise(text: str) -> str:
    """Whitespace collapsed: AgentDojo's YAML substitution folds an injected text's newlines."""
    return " ".join(text.split())


def contains_any(text: str, needles: frozenset[str]) -> bool:
    """Whether ``text`` (normalised) contains one of the (normalised) ``needles``."""
    if not needles:
        return False
    flat = normalise(text)
    return any(n in flat for n in needles)
