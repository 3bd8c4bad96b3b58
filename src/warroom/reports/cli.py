"""`warroom export ...`: exports through the API."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from warroom.client import ApiClient
from warroom.cliutil import handle_errors

app = typer.Typer(help="Export incidents as Markdown, CSV or JSON.", no_args_is_help=True)


@app.command("incidents")
@handle_errors
def incidents(
    fmt: Annotated[str, typer.Option("--format", "-f", help="markdown, csv or json.")] = "markdown",
    status: Annotated[str | None, typer.Option()] = None,
    severity: Annotated[str | None, typer.Option()] = None,
    service: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Write every matching incident to stdout (e.g. `> INCIDENTS.md`)."""
    response = ApiClient().request(
        "GET",
        "/api/v1/export/incidents",
        params={"format": fmt, "status": status, "severity": severity, "service": service},
    )
    sys.stdout.write(response.text)
