"""``ringfence bench NAME``: the benchmarks in the repository's ``benchmarks/`` folder.

Each ``benchmarks/bench_NAME.py`` defines a click command ``cli``; it prints JSON.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

import ringfence


def benchmarks_dir() -> Path | None:
    """``benchmarks/`` of the source checkout (found from the package, then the cwd)."""
    candidates = [Path(ringfence.__file__).resolve().parents[2], *Path.cwd().resolve().parents]
    candidates.insert(1, Path.cwd().resolve())
    for root in candidates:
        folder = root / "benchmarks"
        if any(folder.glob("bench_*.py")):
            return folder
    return None


class BenchGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        folder = benchmarks_dir()
        if folder is None:
            return []
        return sorted(p.stem.removeprefix("bench_") for p in folder.glob("bench_*.py"))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        folder = benchmarks_dir()
        if folder is None:
            raise click.ClickException(
                "benchmarks/ not found: run from a ringfence source checkout (pip install -e .)"
            )
        path = folder / f"bench_{cmd_name}.py"
        if not path.is_file():
            return None
        spec = importlib.util.spec_from_file_location(f"ringfence_bench_{cmd_name}", path)
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        command = getattr(module, "cli", None)
        return command if isinstance(command, click.Command) else None


@click.group("bench", cls=BenchGroup)
def bench_group() -> None:
    """Reproducible benchmarks; each prints JSON (see benchmarks/)."""
