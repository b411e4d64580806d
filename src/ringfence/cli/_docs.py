"""Generate ``docs/cli.md`` from the click commands, so the reference cannot drift."""

from __future__ import annotations

import click

from ringfence.cli._app import cli


def _walk(cmd: click.Command, path: list[str]) -> list[str]:
    ctx = click.Context(cmd, info_name=" ".join(path), terminal_width=100, max_content_width=100)
    out = [f"## `{' '.join(path)}`", "", "```", cmd.get_help(ctx).strip(), "```", ""]
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                out.extend(_walk(sub, [*path, name]))
    return out


def render() -> str:
    header = [
        "# CLI reference",
        "",
        "Generated from the code by `make docs` (`python -m ringfence.cli._docs`); a test fails",
        "when this file is out of date.",
        "",
    ]
    return "\n".join(header + _walk(cli, ["ringfence"]))


if __name__ == "__main__":
    print(render(), end="")
