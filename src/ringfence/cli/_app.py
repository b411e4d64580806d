"""Root command group."""

from __future__ import annotations

import click

from ringfence._version import __version__


@click.group()
@click.version_option(__version__, prog_name="ringfence")
def cli() -> None:
    """ringfence: policy, provenance, guards, approvals and audit for LLM agents."""


def main() -> None:
    cli()
