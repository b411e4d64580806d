"""Where things are in a YAML (or JSON) document: the line of every key and sequence item.

Shared by every loader that reports bad input as ``file:line (path): reason`` (policies, eval
suites, red-team files).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import yaml

LinePath = tuple[str | int, ...]
"""A path into a document: mapping keys and sequence indexes."""


def line_map(text: str) -> dict[LinePath, int]:
    """Line number (1-based) of every key and sequence item of a YAML/JSON document (empty when
    it does not parse: the parser's own error says where)."""
    lines: dict[LinePath, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, path: LinePath) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                sub = (*path, str(key_node.value))
                lines[sub] = key_node.start_mark.line + 1
                walk(value_node, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


def nearest_line(lines: Mapping[LinePath, int], path: Sequence[str | int]) -> int | None:
    """The line of ``path``, or of its nearest ancestor that has one."""
    for n in range(len(path), -1, -1):
        prefix = tuple(path[:n])
        if prefix in lines:
            return lines[prefix]
    return None
