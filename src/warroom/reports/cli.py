"""`warroom export ...` and `warroom report ...`: exports and reports through the API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

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


report_app = typer.Typer(
    help="Reports over a period: MTTA/MTTR against targets, noise, on-call load, runbooks, the retrospective.",
    no_args_is_help=True,
)

Since = Annotated[str | None, typer.Option(help="Start (ISO date or date-time, UTC); default --until minus 30 days.")]
Until = Annotated[str | None, typer.Option(help="End, excluded (ISO date or date-time, UTC); default now.")]
By = Annotated[str, typer.Option("--by", help="Group by severity, service, team or policy.")]
Bucket = Annotated[str, typer.Option(help="The trend's bucket: day or week.")]
Drills = Annotated[bool, typer.Option("--include-drills", help="Count drill incidents too.")]
Flap = Annotated[int, typer.Option(help="Fired again within this many minutes of resolving counts as flapping.")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")]


def _params(since: str | None, until: str | None, by: str, bucket: str, drills: bool, flap: int) -> dict[str, Any]:
    return {
        "since": since,
        "until": until,
        "group_by": by,
        "bucket": bucket,
        "include_drills": "true" if drills else "false",
        "flap_minutes": flap,
    }


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def _section_command(name: str, doc: str) -> None:
    @handle_errors
    def command(
        since: Since = None,
        until: Until = None,
        by: By = "severity",
        bucket: Bucket = "week",
        include_drills: Drills = False,
        flap_minutes: Flap = 30,
        fmt: Annotated[str, typer.Option("--format", "-f", help="csv or json.")] = "csv",
        output: Output = None,
    ) -> None:
        params = _params(since, until, by, bucket, include_drills, flap_minutes) | {"format": fmt}
        _write(ApiClient().request("GET", f"/api/v1/reports/{name}", params=params).text, output)

    command.__doc__ = doc
    report_app.command(name)(command)


for _name, _doc in (
    ("incidents", "Incident counts and each phase (median, p90, mean) with the share that met its target."),
    ("trend", "Incidents per day or week."),
    ("noise", "Alerts per incident, noisiest alerts, flapping, alerts that opened no incident, unanswered pages."),
    ("load", "Pages per person, pages at night in their time zone, time to acknowledge per person."),
    ("runbooks", "Runbook uses, success rate, time per run, MTTR with the runbook and without it."),
    ("actions", "Action items opened, done and overdue."),
):
    _section_command(_name, _doc)


@report_app.command("retrospective")
@handle_errors
def retrospective(
    since: Since = None,
    until: Until = None,
    by: By = "severity",
    bucket: Bucket = "week",
    include_drills: Drills = False,
    flap_minutes: Flap = 30,
    fmt: Annotated[str, typer.Option("--format", "-f", help="markdown or json.")] = "markdown",
    output: Output = None,
) -> None:
    """The monthly retrospective: every section in Markdown with the charts embedded (or JSON)."""
    params = _params(since, until, by, bucket, include_drills, flap_minutes) | {"format": fmt}
    _write(ApiClient().request("GET", "/api/v1/reports/retrospective", params=params).text, output)


@report_app.command("chart")
@handle_errors
def chart(
    name: Annotated[str, typer.Argument(help="trend, mtta or mttr.")],
    since: Since = None,
    until: Until = None,
    bucket: Bucket = "week",
    include_drills: Drills = False,
    output: Output = None,
) -> None:
    """A chart as SVG: trend (incidents per bucket), mtta or mttr (median per severity against its target)."""
    params = _params(since, until, "severity", bucket, include_drills, 30)
    _write(ApiClient().request("GET", f"/api/v1/reports/charts/{name}.svg", params=params).text, output)
