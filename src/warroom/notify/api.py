"""HTTP routes of the notify domain: one-click links and an incident's notifications (test messages: oncall/api.py)."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from warroom.auth import service as audit
from warroom.auth.actor import Actor, Role
from warroom.deps import PathId, ReadSession, RuntimeDep, Viewer, WriteSession
from warroom.errors import Forbidden, WarroomError
from warroom.incidents import service as incidents
from warroom.incidents import timeline
from warroom.incidents.models import Incident, Status
from warroom.notify import escalations, links, service
from warroom.notify.apprise_send import mask_url
from warroom.notify.models import DeliveryAttempt, Notification
from warroom.runtime import Runtime

api = APIRouter(prefix="/api/v1", tags=["notifications"])
pages = APIRouter(tags=["notifications"])


class AttemptRead(BaseModel):
    """One delivery attempt."""

    at: datetime
    ok: bool
    error: str | None
    elapsed_ms: int


class NotificationRead(BaseModel):
    """A notification in the outbox, with its attempts; the URL is masked."""

    id: str
    kind: str
    user: str | None
    team: str | None
    method: str
    url: str
    level: int
    cycle: int
    state: str
    attempts: list[AttemptRead]
    last_error: str | None
    due_at: datetime
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: Notification, attempts: list[DeliveryAttempt]) -> NotificationRead:
        """From the row and its attempts."""
        return cls(
            id=row.id,
            kind=row.kind,
            user=row.user_id,
            team=row.team_id,
            method=row.method,
            url=mask_url(row.url),
            level=row.level + 1,
            cycle=row.cycle,
            state=row.state,
            attempts=[AttemptRead(at=a.at, ok=a.ok, error=a.error, elapsed_ms=a.elapsed_ms) for a in attempts],
            last_error=row.last_error,
            due_at=row.due_at,
            created_at=row.created_at,
            sent_at=row.sent_at,
        )


class TestResult(BaseModel):
    """How a test message went through one contact method."""

    notification: str
    method: str
    url: str
    ok: bool
    error: str | None
    elapsed_ms: int


@api.get("/incidents/{number}/notifications", response_model=list[NotificationRead])
def incident_notifications(number: PathId, session: ReadSession, _actor: Viewer) -> list[NotificationRead]:
    """Every notification about the incident (pages, channel posts, reminders) with each delivery attempt."""
    incidents.get_or_404(session, number)
    rows = service.for_incident(session, number)
    attempts = service.attempts_of(session, [r.id for r in rows])
    return [NotificationRead.of(r, attempts[r.id]) for r in rows]


# -- one-click links ---------------------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}
button{{font-size:1.1rem;padding:.6rem 1.4rem;border-radius:.4rem;border:0;background:#b3261e;color:#fff}}
.muted{{color:#666}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _html(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status)


def _refused(exc: WarroomError) -> HTMLResponse:
    """The page of a link that cannot act: forged, malformed, expired, or already used."""
    title = "Link already used" if isinstance(exc, links.LinkSpent) else "Link not valid"
    return _html(title, f"<p>{html.escape(exc.detail)}</p>", exc.status)


def _describe(incident: Incident) -> str:
    return (
        f"<p><strong>#{incident.id} [{html.escape(incident.severity)}] {html.escape(incident.title)}</strong><br>"
        f"<span class=muted>status: {html.escape(incident.status)}</span></p>"
    )


def _open_link(session: Session, runtime: Runtime, token: str) -> tuple[links.ActionLink, Incident]:
    key = links.signing_key(session, runtime.clock.now())
    link = links.read_action(key, token, runtime.clock.now())
    links.check_unspent(session, token)
    incident = incidents.get(session, link.incident)
    if incident is None:
        raise Forbidden(f"Incident #{link.incident} no longer exists.")
    return link, incident


# A person opens these links in a browser: refusals are pages too, not problem details.
_HTML_REFUSALS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": "The link is not valid (expired, tampered with, or its incident is gone).",
        "content": {"text/html": {}},
    }
    for status in (400, 401, 403, 404, 409, 410)
}


@pages.get("/l/{token}", response_class=HTMLResponse, responses=_HTML_REFUSALS)
def link_confirm(token: str, session: WriteSession, runtime: RuntimeDep) -> HTMLResponse:
    """Confirmation page of a one-click link (a GET never acts: mail scanners follow links)."""
    try:
        link, incident = _open_link(session, runtime, token)
        session.commit()
    except WarroomError as exc:
        return _refused(exc)
    verb = "Acknowledge" if link.action == "acknowledge" else "Resolve"
    body = (
        f"{_describe(incident)}<form method=post>"
        f"<button type=submit>{verb} incident #{incident.id}</button></form>"
        f"<p class=muted>Link for {html.escape(link.user or 'the team')}, valid until "
        f"{link.expires:%Y-%m-%d %H:%M} UTC.</p>"
    )
    return _html(f"{verb} incident #{incident.id}?", body)


@pages.post("/l/{token}", response_class=HTMLResponse, responses=_HTML_REFUSALS)
def link_act(token: str, session: WriteSession, runtime: RuntimeDep) -> HTMLResponse:
    """Do what a one-click link says: acknowledge or resolve its incident, as the person it was sent to."""
    now = runtime.clock.now()
    try:
        link, _ = _open_link(session, runtime, token)
        incident = incidents.get_for_update(session, link.incident)
        # Again under the incident's lock: a click that raced this one and won has committed by now, and the
        # answer should say the link was used rather than describe the state it left.
        links.check_unspent(session, token)
    except WarroomError as exc:
        return _refused(exc)
    actor = Actor(name=link.user or "one-click link", role=Role.RESPONDER, kind="user")
    if not incident.is_open:
        session.rollback()
        return _html(f"Incident #{incident.id} is resolved", _describe(incident))
    data = {"notification": link.notification, "user": link.user, "via": "link"}
    method = None
    if link.notification:
        row = session.get(Notification, link.notification)
        method = row.method if row is not None else None
    data["method"] = method
    try:
        done = _act(session, incident, link, token, actor, now, data)
    except WarroomError as exc:
        session.rollback()
        return _refused(exc)
    if done is None:
        session.rollback()
        return _html(f"Incident #{incident.id} is already acknowledged", _describe(incident))
    audit.record(session, actor, f"incident.{link.action}", f"incident:{incident.id}", now=now, detail=data)
    session.commit()
    return _html(f"Incident #{incident.id}: done", f"{_describe(incident)}<p>{html.escape(done)}</p>")


def _act(
    session: Session,
    incident: Incident,
    link: links.ActionLink,
    token: str,
    actor: Actor,
    now: datetime,
    data: dict[str, Any],
) -> str | None:
    """Do what the link says and spend it; None when there was nothing to do (the link stays usable)."""
    if link.action == "acknowledge":
        if incident.status == Status.TRIGGERED.value:
            links.spend(session, token, link, now)
            _link_event(session, incident, actor, now, data)
            incidents.acknowledge(session, incident, actor, now, "acknowledged from a notification link")
            return f"Acknowledged by {link.user or 'link'}: escalation stopped."
        paging = escalations.of(session)
        if not paging.is_paging(session, incident.id):
            return None
        links.spend(session, token, link, now)
        _link_event(session, incident, actor, now, data)
        paging.acknowledge_paging(session, incident, actor, now)
        return f"Acknowledged by {link.user or 'link'}: paging stopped."
    links.spend(session, token, link, now)
    incidents.resolve(session, incident, actor, now, "resolved from a notification link")
    return f"Resolved by {link.user or 'link'}."


def _link_event(session: Session, incident: Incident, actor: Actor, now: datetime, data: dict[str, Any]) -> None:
    by = f" by {data['method']}" if data.get("method") else ""
    timeline.append(
        session,
        incident,
        kind="notification_acknowledged",
        actor=actor,
        at=now,
        message=f"{actor.name} acknowledged from the page sent{by}",
        data=data,
    )


# One router for the app: the API under /api/v1 and the link pages at the root.
router = APIRouter()
router.include_router(api)
router.include_router(pages)
