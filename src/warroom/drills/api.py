"""HTTP routes of drills (thin): start a scenario drill (alerts only), start a contact drill, the history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from warroom.auth import service as audit
from warroom.deps import Admin, PathId, ReadSession, RuntimeDep, Viewer, WriteSession
from warroom.drills import contacts, service
from warroom.drills.models import Drill
from warroom.drills.scenario import ScenarioIn
from warroom.drills.schemas import ContactDrillIn, DrillRead
from warroom.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["drills"])


def _read(session: Session, runtime: Runtime, drill: Drill) -> DrillRead:
    return DrillRead(
        id=drill.id,
        kind=drill.kind,
        name=drill.name,
        state=drill.state,
        started_by=drill.started_by,
        started_at=drill.started_at,
        deadline=drill.deadline,
        finished_at=drill.finished_at,
        incident=drill.incident_id,
        report=service.current_report(session, runtime, drill, runtime.clock.now()),
    )


@router.post("/drills/run", status_code=201, response_model=DrillRead)
def run_drill(body: ScenarioIn, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> DrillRead:
    """Start a drill: inject its alerts through the real intake (every page of its incident says DRILL).

    No command is accepted here: a scenario that breaks a service runs only from a local file with
    `warroom drill run FILE`."""
    now = runtime.clock.now()
    drill = service.start(session, runtime, body, actor=actor, now=now)
    audit.record(session, actor, "drill.run", f"drill:{drill.id}", now=now, detail={"name": drill.name})
    session.commit()
    return _read(session, runtime, drill)


@router.post("/drills/contacts", status_code=201, response_model=DrillRead)
def contact_drill(body: ContactDrillIn, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> DrillRead:
    """Page every on-call person through each contact method with "DRILL: test page, please acknowledge"."""
    now = runtime.clock.now()
    drill = contacts.start(session, runtime, team=body.team, deadline=body.deadline, actor=actor, now=now)
    audit.record(session, actor, "drill.contacts", f"drill:{drill.id}", now=now, detail={"team": body.team})
    session.commit()
    return _read(session, runtime, drill)


@router.get("/drills", response_model=list[DrillRead])
def list_drills(
    session: ReadSession,
    runtime: RuntimeDep,
    _actor: Viewer,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 50,
) -> list[DrillRead]:
    """Past and running drills, newest first, each with its report."""
    return [_read(session, runtime, d) for d in service.history(session, limit=limit)]


# Not GET /drills/{id}: that path would match /drills/run and /drills/contacts too (their Allow header offered GET).
@router.get("/drills/{drill_id}/report", response_model=DrillRead)
def get_drill(drill_id: PathId, session: ReadSession, runtime: RuntimeDep, _actor: Viewer) -> DrillRead:
    """One drill with its report (as of now while it runs)."""
    return _read(session, runtime, service.get(session, drill_id))
