"""The `ringfence` command line."""

from ringfence.cli._app import main

__all__ = ["main"]
