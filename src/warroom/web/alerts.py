"""Console page of alerts: firing alerts grouped, silence one from its labels, silences and maintenance windows.

Each action is a plain form (CSRF and the responder role checked by `RespondingPerson`): it calls the same
service function as the API, records the same audit entry under the person's name, commits and redirects back."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request, Response

from warroom.alerts import maintenance, queries, silences
from warroom.auth import service as audit
from warroom.deps import PathId, ReadSession, RuntimeDep, WriteSession
from warroom.errors import NotFound
from warroom.web.actions import back
from warroom.web.alerts_view import alerts_page, matcher_lines, matchers_of
from warroom.web.errors import console_router
from warroom.web.forms import NoNul, form_duration, form_time
from warroom.web.session import Person, RespondingPerson
from warroom.web.templating import render

router = console_router()

Short = Annotated[str, Form(max_length=300), NoNul]
Long = Annotated[str, Form(max_length=5_000), NoNul]


def _back(text: str, level: str = "ok") -> Response:
    return back("/alerts", text, level)


@router.get("/alerts")
def alerts(
    request: Request,
    visit: Person,
    session: ReadSession,
    runtime: RuntimeDep,
    silence: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """Firing alerts by group (held-back ones apart), silences, maintenance windows; `?silence=ID` prefills the form."""
    now = runtime.clock.now()
    prefill, prefill_alert = "", None
    if silence is not None:
        try:
            prefill_alert = queries.get_alert(session, silence)
        except NotFound:
            prefill_alert = None
        if prefill_alert is not None:
            prefill = matchers_of(prefill_alert)
    return render(
        request,
        "alerts/page.html",
        {"nav": "alerts", "view": alerts_page(session, now), "prefill": prefill, "prefill_alert": prefill_alert},
    )


@router.post("/alerts/silences")
def create_silence(
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    matchers: Long = "",
    duration: Annotated[str, Form(max_length=40), NoNul] = "2h",
    comment: Short = "",
) -> Response:
    """Silence the alerts matching every matcher (one a line) for `duration`."""
    now = runtime.clock.now()
    silence = silences.create(
        session,
        matchers=matcher_lines(matchers),
        created_by=visit.username,
        now=now,
        duration=form_duration(duration, "duration"),
        comment=comment,
    )
    audit.record(
        session,
        visit.actor,
        "silence.create",
        f"silence:{silence.id}",
        now=now,
        detail={"matchers": silence.matchers, "via": "console"},
    )
    session.commit()
    return _back(f"Silence {silence.id} added until {silence.ends_at:%Y-%m-%d %H:%M} UTC.")


@router.post("/alerts/silences/{silence_id}/expire")
def expire_silence(silence_id: PathId, visit: RespondingPerson, session: WriteSession, runtime: RuntimeDep) -> Response:
    """End a silence now; the alerts it held back are re-evaluated."""
    now = runtime.clock.now()
    silence = silences.expire(session, silences.get(session, silence_id), now=now)
    audit.record(session, visit.actor, "silence.expire", f"silence:{silence.id}", now=now, detail={"via": "console"})
    session.commit()
    return _back(f"Silence {silence.id} expired.")


@router.post("/alerts/maintenance")
def create_window(
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    service: Annotated[str, Form(max_length=100), NoNul] = "",
    starts_at: Annotated[str, Form(max_length=40), NoNul] = "",
    duration: Annotated[str, Form(max_length=40), NoNul] = "",
    weekly: Annotated[bool, Form()] = False,
    comment: Short = "",
) -> Response:
    """Schedule a maintenance window for a service (starts_at in UTC; empty: now)."""
    now = runtime.clock.now()
    window = maintenance.create(
        session,
        service=service,
        starts_at=form_time(starts_at, "starts_at") if starts_at.strip() else now,
        duration=form_duration(duration, "duration"),
        weekly=weekly,
        comment=comment,
        created_by=visit.username,
        now=now,
    )
    audit.record(
        session,
        visit.actor,
        "maintenance.create",
        f"maintenance:{window.id}",
        now=now,
        detail={"service": window.service, "weekly": window.weekly, "via": "console"},
    )
    session.commit()
    return _back(f"Maintenance window {window.id} for {window.service} scheduled.")


@router.post("/alerts/maintenance/{window_id}/cancel")
def cancel_window(window_id: PathId, visit: RespondingPerson, session: WriteSession, runtime: RuntimeDep) -> Response:
    """Cancel a maintenance window (every occurrence)."""
    now = runtime.clock.now()
    window = maintenance.cancel(session, maintenance.get(session, window_id), now=now)
    audit.record(
        session, visit.actor, "maintenance.cancel", f"maintenance:{window.id}", now=now, detail={"via": "console"}
    )
    session.commit()
    return _back(f"Maintenance window {window.id} cancelled.")
