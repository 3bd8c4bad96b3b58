"""HTTP routes of the reports domain: incident exports, report sections, the retrospective and its charts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from warroom.deps import ReadSession, RuntimeDep, Viewer
from warroom.errors import InvalidInput
from warroom.incidents import service as incidents
from warroom.reports import charts, export, render, service
from warroom.reports.period import DEFAULT_FLAP_MINUTES, ReportQuery, parse_query

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.get(
    "/export/incidents",
    responses={
        200: {"description": "The export.", "content": {"text/markdown": {}, "text/csv": {}, "application/json": {}}}
    },
)
def export_incidents(
    session: ReadSession,
    runtime: RuntimeDep,
    _actor: Viewer,
    fmt: Annotated[str, Query(alias="format")] = "markdown",
    status: str | None = None,
    severity: str | None = None,
    service: str | None = None,
) -> Response:
    """Every matching incident as Markdown, CSV or JSON."""
    filters = incidents.parse_filters(status, severity, service, runtime.severities)
    body, media_type = export.render(session, incidents.all_incidents(session, filters), fmt)
    return Response(content=body, media_type=media_type)


def _query(
    runtime: RuntimeDep,
    since: Annotated[
        str | None, Query(description="ISO date or date-time (UTC unless it says); default until - 30 days.")
    ] = None,
    until: Annotated[str | None, Query(description="ISO date or date-time, excluded; default now.")] = None,
    group_by: Annotated[str, Query(description="severity, service, team or policy.")] = "severity",
    bucket: Annotated[str, Query(description="The trend's bucket: day or week.")] = "week",
    include_drills: Annotated[bool, Query(description="Count drill incidents too.")] = False,
    flap_minutes: Annotated[
        int, Query(description="Fired again within this many minutes of resolving: flapping.")
    ] = DEFAULT_FLAP_MINUTES,
) -> ReportQuery:
    return parse_query(
        now=runtime.clock.now(),
        since=since,
        until=until,
        group_by=group_by,
        bucket=bucket,
        include_drills=include_drills,
        flap_minutes=flap_minutes,
    )


QueryDep = Annotated[ReportQuery, Depends(_query)]


@router.get(
    "/reports/retrospective",
    responses={200: {"description": "The whole report.", "content": {"text/markdown": {}, "application/json": {}}}},
)
def retrospective(
    session: ReadSession,
    runtime: RuntimeDep,
    _actor: Viewer,
    query: QueryDep,
    fmt: Annotated[str, Query(alias="format", description="markdown or json.")] = "markdown",
) -> Response:
    """Every section of the report: the monthly retrospective in Markdown (charts embedded), or JSON."""
    if fmt not in ("markdown", "json"):
        raise InvalidInput(f"Unknown format {fmt[:40]!r}: expected markdown or json.", field="format")
    report = service.build(session, query, runtime.severities)
    if fmt == "json":
        return Response(content=render.to_json(report), media_type="application/json")
    return Response(content=render.to_markdown(report, runtime.severities), media_type="text/markdown; charset=utf-8")


@router.get(
    "/reports/charts/{name}.svg",
    responses={200: {"description": "The chart.", "content": {"image/svg+xml": {}}}},
)
def chart(
    session: ReadSession,
    runtime: RuntimeDep,
    _actor: Viewer,
    query: QueryDep,
    name: Literal["trend", "mtta", "mttr"],
) -> Response:
    """A chart of the report as SVG: trend (incidents per bucket), mtta or mttr (median per severity vs target)."""
    sections = ("trend",) if name == "trend" else ("incidents",)
    by_severity = ReportQuery(
        query.since, query.until, "severity", query.bucket, query.include_drills, query.flap_minutes
    )
    report = service.build(session, by_severity, runtime.severities, sections)
    return Response(content=charts.render(name, report, runtime.severities), media_type="image/svg+xml")


@router.get(
    "/reports/{section}",
    responses={200: {"description": "The section.", "content": {"application/json": {}, "text/csv": {}}}},
)
def section(
    session: ReadSession,
    runtime: RuntimeDep,
    _actor: Viewer,
    query: QueryDep,
    section: Literal["incidents", "trend", "noise", "load", "runbooks", "actions"],
    fmt: Annotated[str, Query(alias="format", description="json or csv.")] = "json",
) -> Response:
    """One section: incidents (phases against targets), trend, noise, load, runbooks or actions."""
    if fmt not in render.FORMATS:
        raise InvalidInput(f"Unknown format {fmt[:40]!r}: expected one of {', '.join(render.FORMATS)}.", field="format")
    report = service.build(session, query, runtime.severities, (section,))
    body, media_type = render.render_section(section, report, fmt)
    return Response(content=body, media_type=media_type)
