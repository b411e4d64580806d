"""Generate the audit-event reference from the event classes, so it cannot drift."""

from __future__ import annotations

import dataclasses
import importlib
import inspect

from ringfence.audit._events import EVENT_TYPES, AuditEvent

# every module that defines audit events (each registers them with @event_kind on import)
EVENT_MODULES = [
    "ringfence.audit._events",
    "ringfence.approval._events",
    "ringfence.gateway._answers",
    "ringfence.guards._events",
    "ringfence.redteam._incident",
]


def _type(field: dataclasses.Field[object]) -> str:
    return str(field.type).replace("|", "\\|")


def render() -> str:
    for module in EVENT_MODULES:
        importlib.import_module(module)
    lines = [
        "# Audit event reference",
        "",
        "Generated from the event classes by `make docs`; a test fails when it is out of date.",
        "Every record also has `seq`, `ts_us`, `kind`, `session`, `principal`, `prev_hash` and",
        "`hash` columns (see `docs/audit.md`).",
        "",
    ]
    for kind, cls in sorted(EVENT_TYPES.items()):
        lines += [f"## `{kind}` ({cls.__name__})", "", inspect.cleandoc(cls.__doc__ or ""), ""]
        lines += ["| field | type |", "|---|---|"]
        base = {f.name for f in dataclasses.fields(AuditEvent)}
        lines += [
            f"| `{f.name}` | {_type(f)} |" for f in dataclasses.fields(cls) if f.name not in base
        ]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
