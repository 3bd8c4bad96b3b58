"""What every command shares: printing, JSON output, one-line errors with the right exit code."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from warroom.config import ConfigError
from warroom.errors import WarroomError

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


class CliError(Exception):
    """An error to print as one line; `code` is the exit status (1 for errors, 2 for usage)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def fail(message: str, code: int = 1) -> NoReturn:
    """Stop the command with one line on stderr."""
    raise CliError(message, code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print errors a user can cause as one line and exit non-zero, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CliError as exc:
            err_console.print(f"error: {exc.message}", markup=False, highlight=False)
            raise typer.Exit(exc.code) from None
        except WarroomError as exc:
            err_console.print(f"error: {exc.detail}", markup=False, highlight=False)
            raise typer.Exit(1) from None
        except ConfigError as exc:
            for problem in exc.problems:
                err_console.print(f"error: {problem}", markup=False, highlight=False)
            raise typer.Exit(1) from None
        except ValidationError as exc:
            if exc.title != "Settings":
                raise
            # A WARROOM_* variable the settings refused: one line per variable, named as the user set it.
            for refused in exc.errors(include_url=False):
                name = "WARROOM_" + "_".join(str(part) for part in refused["loc"]).upper()
                err_console.print(f"error: {name}: {refused['msg']}", markup=False, highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def print_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """A Rich table on stdout."""
    out = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*["-" if v is None else str(v) for v in row])
    console.print(out)


def when(value: str | None) -> str:
    """A timestamp from the API in a short local-free form."""
    if not value:
        return "-"
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def parse_pairs(values: list[str] | None, what: str) -> dict[str, str]:
    """`key=value` options as a dict; a usage error (exit 2) names the bad one."""
    pairs: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"{what} {item!r} is not key=value.", code=2)
        pairs[key.strip()] = value
    return pairs
