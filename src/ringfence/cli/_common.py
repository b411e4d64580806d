"""Shared CLI helpers: error handling and JSON output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ringfence.exceptions import RingfenceError, UserError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USAGE = 2


def handle_errors(fn: F) -> F:
    """Report ringfence errors as ``error: ...`` on stderr: exit 2 for user errors, 1 otherwise."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except RingfenceError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def echo_json(data: Any, *, pretty: bool = False) -> None:
    click.echo(json.dumps(data, indent=2 if pretty else None, ensure_ascii=False, default=str))
