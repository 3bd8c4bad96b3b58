"""HTTP routes of the reports domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from warroom.deps import ReadSession, RuntimeDep, Viewer
from warroom.incidents import service as incidents
from warroom.reports import export

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
