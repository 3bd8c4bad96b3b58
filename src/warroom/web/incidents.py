"""Console pages of incidents: the list (open first, filters, declare) and one incident with its actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from warroom.deps import ReadSession, RuntimeDep
from warroom.incidents import service
from warroom.web.errors import console_router
from warroom.web.session import Person
from warroom.web.templating import render

router = console_router()

Filter = Annotated[str | None, Query(max_length=200)]


@router.get("/incidents")
def incident_list(
    request: Request,
    visit: Person,
    session: ReadSession,
    runtime: RuntimeDep,
    status: Filter = None,
    severity: Filter = None,
    service_name: Annotated[str | None, Query(alias="service", max_length=100)] = None,
) -> Response:
    """Incidents, open ones first."""
    filters = service.parse_filters(status or "open", severity, service_name, runtime.severities)
    items, _next = service.list_incidents(session, filters, limit=100)
    return render(request, "incidents/list.html", {"incidents": items, "nav": "incidents"})
