"""HTTP routes of post-mortems and action items (thin: parse, call the service, audit, commit)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from warroom.auth import service as audit
from warroom.auth.actor import Actor
from warroom.deps import DB_INT_MAX, Admin, PathId, ReadSession, Responder, RuntimeDep, Viewer, WriteSession
from warroom.incidents import service as incidents
from warroom.postmortems import actions, service
from warroom.postmortems.models import ActionItem, Postmortem
from warroom.postmortems.schemas import (
    ActionItemCreate,
    ActionItemRead,
    ActionItemUpdate,
    DiffRead,
    PostmortemEdit,
    PostmortemRead,
    PostmortemSummary,
    StateChange,
    VersionRead,
)
from warroom.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["postmortems"])
VersionNo = Annotated[int, Query(ge=1, le=DB_INT_MAX)]


def _item(item: ActionItem, today: date) -> ActionItemRead:
    read = ActionItemRead.model_validate(item)
    read.overdue = item.status == "open" and item.due_on is not None and item.due_on < today
    return read


def _read(session: Session, runtime: Runtime, postmortem: Postmortem) -> PostmortemRead:
    now = runtime.clock.now()
    incident = incidents.get_or_404(session, postmortem.incident_id)
    return PostmortemRead(
        incident=incident.id,
        title=incident.title,
        severity=incident.severity,
        state=postmortem.state,
        version=postmortem.version,
        required=postmortem.required,
        due_at=postmortem.due_at,
        overdue=service.is_overdue(postmortem, postmortem.due_at, now),
        created_by=postmortem.created_by,
        created_at=postmortem.created_at,
        updated_at=postmortem.updated_at,
        published_at=postmortem.published_at,
        body=service.version_of(session, postmortem).body,
        action_items=[_item(i, now.date()) for i in actions.of_incident(session, incident.id)],
    )


def _commit(session: Session, runtime: Runtime, actor: Actor, action: str, target: str, **detail: object) -> None:
    audit.record(session, actor, action, target, now=runtime.clock.now(), detail=detail or None)
    session.commit()


@router.post("/incidents/{number}/postmortem", status_code=201, response_model=PostmortemRead)
def draft_postmortem(
    number: PathId, response: Response, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> PostmortemRead:
    """Draft the incident's post-mortem from the template, prefilled from its record."""
    incidents.get_for_update(session, number)
    postmortem = service.draft(session, runtime, number, actor, runtime.clock.now())
    _commit(session, runtime, actor, "postmortem.draft", f"incident:{number}")
    response.headers["Location"] = f"/api/v1/postmortems/{number}"
    return _read(session, runtime, postmortem)


@router.get("/postmortems", response_model=list[PostmortemSummary])
def list_postmortems(
    session: ReadSession,
    runtime: RuntimeDep,
    _actor: Viewer,
    state: Annotated[str | None, Query(max_length=20, description="draft, in_review or published")] = None,
    overdue: Annotated[bool, Query(description="Only required ones past their due time, drafted or not.")] = False,
) -> list[PostmortemSummary]:
    """Post-mortems, newest incident first."""
    now = runtime.clock.now()
    rows = service.list_postmortems(session, runtime, state=state, overdue=overdue, now=now)
    return [
        PostmortemSummary(
            incident=incident.id,
            title=incident.title,
            severity=incident.severity,
            state=pm.state if pm else None,
            version=pm.version if pm else None,
            required=pm.required if pm else True,
            due_at=due,
            overdue=service.is_overdue(pm, due, now),
        )
        for incident, pm, due in rows
    ]


@router.get("/postmortems/{number}", response_model=PostmortemRead)
def show_postmortem(number: PathId, session: ReadSession, runtime: RuntimeDep, _actor: Viewer) -> PostmortemRead:
    """The incident's post-mortem: state, current text, action items."""
    return _read(session, runtime, service.get_or_404(session, number))


@router.put("/postmortems/{number}", response_model=PostmortemRead)
def edit_postmortem(
    number: PathId, body: PostmortemEdit, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> PostmortemRead:
    """Save a new version, edited from `version` (409 when someone saved since); the action items follow."""
    incidents.get_for_update(session, number)
    postmortem = service.get_or_404(session, number)
    version = service.edit(
        session,
        runtime,
        postmortem,
        body.body,
        based_on=body.version,
        actor=actor,
        now=runtime.clock.now(),
        summary=body.summary,
    )
    _commit(session, runtime, actor, "postmortem.edit", f"incident:{number}", version=version.number)
    return _read(session, runtime, postmortem)


@router.post("/postmortems/{number}/state", response_model=PostmortemRead)
def change_state(
    number: PathId, body: StateChange, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> PostmortemRead:
    """draft → in_review → published (or in_review → draft); publishing stops the reminders."""
    incidents.get_for_update(session, number)
    postmortem = service.get_or_404(session, number)
    service.set_state(session, runtime, postmortem, body.state.lower(), actor, runtime.clock.now())
    _commit(session, runtime, actor, "postmortem.state", f"incident:{number}", state=postmortem.state)
    return _read(session, runtime, postmortem)


@router.post("/postmortems/{number}/reopen", response_model=PostmortemRead)
def reopen_postmortem(number: PathId, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> PostmortemRead:
    """Bring a published post-mortem back to draft (admins only)."""
    incidents.get_for_update(session, number)
    postmortem = service.get_or_404(session, number)
    service.reopen(session, runtime, postmortem, actor, runtime.clock.now())
    _commit(session, runtime, actor, "postmortem.reopen", f"incident:{number}")
    return _read(session, runtime, postmortem)


@router.get("/postmortems/{number}/versions", response_model=list[VersionRead])
def list_versions(number: PathId, session: ReadSession, _actor: Viewer) -> list[VersionRead]:
    """Every version: who saved it, when, and why (without the texts)."""
    postmortem = service.get_or_404(session, number)
    return [
        VersionRead.model_validate(v).model_copy(update={"body": None}) for v in service.versions(session, postmortem)
    ]


@router.get("/postmortems/{number}/versions/{version}", response_model=VersionRead)
def show_version(number: PathId, version: PathId, session: ReadSession, _actor: Viewer) -> VersionRead:
    """One version with its text."""
    return VersionRead.model_validate(service.version_of(session, service.get_or_404(session, number), version))


@router.get("/postmortems/{number}/diff", response_model=DiffRead)
def diff_versions(
    number: PathId,
    session: ReadSession,
    _actor: Viewer,
    from_version: Annotated[int | None, Query(alias="from", ge=1, le=DB_INT_MAX)] = None,
    to_version: Annotated[int | None, Query(alias="to", ge=1, le=DB_INT_MAX)] = None,
) -> DiffRead:
    """A unified diff between two versions (default: the one before the current, and the current)."""
    postmortem = service.get_or_404(session, number)
    new = to_version or postmortem.version
    old = from_version or max(new - 1, 1)
    return DiffRead(from_version=old, to_version=new, diff=service.diff(session, postmortem, old, new))


@router.get(
    "/postmortems/{number}/export",
    responses={200: {"description": "Markdown with YAML front matter.", "content": {"text/markdown": {}}}},
    response_class=Response,
)
def export_postmortem(number: PathId, session: ReadSession, runtime: RuntimeDep, _actor: Viewer) -> Response:
    """The current version as Markdown with YAML front matter (incident, severity, dates, phases, items)."""
    text = service.export(session, runtime, service.get_or_404(session, number), runtime.clock.now())
    return Response(content=text, media_type="text/markdown; charset=utf-8")


@router.get("/action-items", response_model=list[ActionItemRead])
def list_action_items(
    session: ReadSession,
    runtime: RuntimeDep,
    _actor: Viewer,
    status: Annotated[str | None, Query(max_length=20, description="open, done or wont_do")] = None,
    owner: Annotated[str | None, Query(max_length=100)] = None,
    incident: Annotated[int | None, Query(ge=1, le=DB_INT_MAX)] = None,
    overdue: Annotated[bool, Query(description="Only open items past their due date.")] = False,
    limit: Annotated[int, Query(ge=1, le=actions.MAX_LIMIT)] = 100,
) -> list[ActionItemRead]:
    """Action items, soonest due first."""
    today = runtime.clock.now().date()
    items = actions.list_items(
        session, status=status, owner=owner, incident=incident, overdue=overdue, today=today, limit=limit
    )
    return [_item(i, today) for i in items]


@router.post("/action-items", status_code=201, response_model=ActionItemRead)
def add_action_item(
    body: ActionItemCreate, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> ActionItemRead:
    """Add an action item to an incident (and to its post-mortem's checklist, as a new version)."""
    incidents.get_for_update(session, body.incident)
    now = runtime.clock.now()
    item = actions.add(
        session,
        runtime,
        incident=body.incident,
        text=body.text,
        owner=body.owner,
        due_on=body.due,
        ticket_url=body.ticket_url,
        actor=actor,
        now=now,
    )
    _commit(session, runtime, actor, "action_item.add", f"action_item:{item.id}", incident=body.incident)
    return _item(item, now.date())


@router.get("/action-items/{item_id}", response_model=ActionItemRead)
def show_action_item(item_id: PathId, session: ReadSession, runtime: RuntimeDep, _actor: Viewer) -> ActionItemRead:
    """One action item."""
    return _item(actions.get_or_404(session, item_id), runtime.clock.now().date())


@router.patch("/action-items/{item_id}", response_model=ActionItemRead)
def update_action_item(
    item_id: PathId, body: ActionItemUpdate, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> ActionItemRead:
    """Change an item (status done ticks its box in the post-mortem, as a new version)."""
    item = actions.get_or_404(session, item_id)
    incidents.get_for_update(session, item.incident_id)
    changes = body.model_dump(exclude_unset=True)
    if "due" in changes:
        changes["due_on"] = changes.pop("due")
    now = runtime.clock.now()
    actions.update(session, runtime, item, changes, actor=actor, now=now)
    _commit(session, runtime, actor, "action_item.update", f"action_item:{item.id}", status=item.status)
    return _item(item, now.date())
