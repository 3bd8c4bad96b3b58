"""What every command shares: printing, JSON output, one-line errors with the right exit code."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from warroom.errors import WarroomError

if TYPE_CHECKING:
    from warroom.config import Settings

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def follow_columns() -> None:
    """Size tables to `COLUMNS` as it is when a command runs, not when this module was first imported."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        console.width = err_console.width = int(columns)


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
        except Exception as exc:
            # Recognised here, not imported up front: a client command must not import the config's models.
            problems = getattr(exc, "problems", None) if type(exc).__name__ == "ConfigError" else None
            if problems is not None:
                for problem in problems:
                    err_console.print(f"error: {problem}", markup=False, highlight=False)
                raise typer.Exit(1) from None
            message = _settings_problem(exc) or _database_problem(exc)
            if message is None:
                raise
            err_console.print(f"error: {message}", markup=False, highlight=False)
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


# Settings whose value is never repeated in a message (a URL may carry a password).
_SECRET_SETTINGS = {"database_url"}
_EXPECTED = {
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_parsing": "expected true or false",
    "greater_than_equal": "expected a number of at least {ge}",
}


def _settings_problem(exc: Exception) -> str | None:
    """A bad WARROOM_* value as one line naming the variable and what it accepts (None: not that)."""
    if type(exc).__name__ != "ValidationError" or getattr(exc, "title", None) != "Settings":
        return None
    lines = []
    for error in exc.errors():  # type: ignore[attr-defined]
        name = str(error["loc"][0]) if error["loc"] else "?"
        variable = f"WARROOM_{name.upper()}"
        reason = str(error["msg"]).removeprefix("Value error, ")
        expected = _EXPECTED.get(error["type"])
        if expected is not None:
            reason = expected.format(**(error.get("ctx") or {}))
        if error["type"] == "value_error" or name in _SECRET_SETTINGS:
            lines.append(f"{variable}: {reason}")
        else:
            lines.append(f"{variable}={error['input']!r} is not valid: {reason}")
    return "; ".join(lines)


def _database_problem(exc: Exception) -> str | None:
    """A database that cannot be opened or reached, as one line with the URL's password hidden."""
    from sqlalchemy import exc as sa_exc

    if not isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.ArgumentError)):
        return None
    if isinstance(exc, sa_exc.ArgumentError) and "URL" not in str(exc):
        return None
    from sqlalchemy.engine import make_url

    from warroom.config import Settings

    try:
        url = make_url(Settings().resolved_database_url()).render_as_string(hide_password=True)
    except Exception:  # the settings were fine a moment ago; never let the message itself fail
        url = "(unreadable)"
    orig = getattr(exc, "orig", None) or exc
    reason = " ".join(str(orig).split()) or orig.__class__.__name__
    return f"cannot use the database WARROOM_DATABASE_URL={url}: {reason}"


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


DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="The server's data folder (default ./data, WARROOM_DATA_DIR), as for `serve`."),
]


def server_settings(data_dir: Path | None, *, create: bool = False) -> Settings:
    """Settings of a command that works on the server's database, found as `warroom serve` finds it; says on
    stderr which database that is.

    Only a command meant to make a database (`db upgrade`, `engine --migrate`) may create a missing SQLite
    file: run from another folder, `token create` used to make a new empty database whose token the running
    server then refused."""
    from sqlalchemy.engine import make_url

    from warroom.config import Settings

    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    url = make_url(settings.resolved_database_url())
    file = url.database if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") else None
    if file is not None and not create and not Path(file).exists():
        fail(
            f"no warroom database at {url.database}: point at the server's data folder with --data-dir or "
            "WARROOM_DATA_DIR (or its database with WARROOM_DATABASE_URL)"
        )
    err_console.print(f"database: {url.render_as_string(hide_password=True)}", markup=False, highlight=False)
    return settings
