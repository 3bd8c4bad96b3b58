"""HTTP routes of the runbooks domain (thin: parse, call the service, audit, commit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from warroom.auth import service as audit
from warroom.auth.actor import Actor
from warroom.deps import PathId, ReadSession, Responder, RuntimeDep, Viewer, WriteSession
from warroom.incidents import service as incidents
from warroom.runbooks import effectiveness, service
from warroom.runbooks.cache import duplicate_problems, file_digest
from warroom.runbooks.context import alert_context, matching_context
from warroom.runbooks.lint import lint_runbook
from warroom.runbooks.matching import rank
from warroom.runbooks.model import Level, Runbook, StepKind
from warroom.runbooks.models import RunbookRun, StepExecution
from warroom.runbooks.schemas import (
    MatchRead,
    ProblemRead,
    RunbookSummary,
    RunFinish,
    RunRead,
    RunStart,
    RunSummary,
    StatsRead,
    StepDone,
    StepRead,
    StepRun,
    StepSkip,
)
from warroom.runbooks.serialize import runbook_to_dict
from warroom.runbooks.setup import cache_of, default_timeout
from warroom.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["runbooks"])


# -- presenting ---------------------------------------------------------------------------------------


def _problems(runtime: Runtime, runbook: Runbook, extra: list[ProblemRead]) -> list[ProblemRead]:
    found = lint_runbook(runbook, today=runtime.clock.now().date())
    out = [ProblemRead(line=m.line, level=m.level.value, code=m.code, message=m.message) for m in found]
    return out + extra


def summary(runtime: Runtime, runbook: Runbook, extra: list[ProblemRead] | None = None) -> RunbookSummary:
    """A runbook as the list shows it, with its lint findings."""
    problems = _problems(runtime, runbook, extra or [])
    return RunbookSummary(
        id=runbook.id,
        title=runbook.title,
        path=str(runbook.path) if runbook.path else None,
        services=runbook.services,
        owner=runbook.front.owner,
        severity=runbook.front.severity,
        sections=len(runbook.sections),
        steps=len(runbook.steps),
        commands=sum(1 for s in runbook.steps if s.kind is StepKind.COMMAND),
        review_due=effectiveness.review_due(runbook),
        errors=sum(1 for p in problems if p.level == Level.ERROR.value),
        warnings=sum(1 for p in problems if p.level == Level.WARNING.value),
        problems=problems,
    )


def _step_read(data: dict[str, Any], record: StepExecution | None) -> StepRead:
    base = StepRead(
        id=data["id"],
        index=data["index"],
        kind=data["kind"],
        section=data.get("section", ""),
        role=data.get("role"),
        title=service.step_title(data),
        description=data.get("description", ""),
        label=data.get("label", ""),
        text=data.get("text", ""),
        language=data.get("language", ""),
        template=data.get("template"),
        command=data.get("command"),
        placeholders=data.get("placeholders", []),
        missing=data.get("missing", []),
        fill_error=data.get("fill_error"),
        dangerous=data.get("dangerous", False),
        danger_reasons=data.get("danger_reasons", []),
        needs_confirmation=data.get("needs_confirmation", False),
        options=data.get("options", {}),
        timeout=data.get("timeout", 0.0),
        state=None,
    )
    if record is None:
        return base
    return base.model_copy(
        update={
            "state": record.state,
            "command": record.command or base.command,
            "exit_code": record.exit_code,
            "duration": record.duration,
            "output": record.output,
            "output_bytes": record.output_bytes,
            "truncated": record.truncated,
            "timed_out": record.timed_out,
            "note": record.note,
            "confirmed": record.confirmed,
            "actor": record.actor,
            "reason": record.reason,
            "queued_at": record.queued_at,
            "started_at": record.started_at,
            "finished_at": record.finished_at,
        }
    )


def run_read(run: RunbookRun) -> RunRead:
    """A run with its frozen steps and their states."""
    records = {r.step_id: r for r in run.executions}
    changed = file_digest(Path(run.path)) != run.digest if run.path else True
    return RunRead(
        id=run.id,
        incident=run.incident_id,
        runbook=run.runbook_id,
        title=run.title,
        path=run.path,
        started_by=run.started_by,
        started_at=run.started_at,
        finished_at=run.finished_at,
        finished_by=run.finished_by,
        outcome=run.outcome,
        outcome_now=service.outcome(run).value,
        auto=run.auto,
        file_changed=changed,
        params=run.params,
        verify_steps=run.verify_ids,
        steps=[_step_read(d, records.get(d["id"])) for d in run.steps],
    )


def _run_summary(run: RunbookRun) -> RunSummary:
    return RunSummary(
        id=run.id,
        incident=run.incident_id,
        runbook=run.runbook_id,
        title=run.title,
        started_by=run.started_by,
        started_at=run.started_at,
        finished_at=run.finished_at,
        outcome=run.outcome,
        auto=run.auto,
    )


def _audit(
    session: Session, runtime: Runtime, actor: Actor, action: str, run: RunbookRun, detail: dict[str, Any]
) -> None:
    detail = {"incident": run.incident_id, "runbook": run.runbook_id, **detail}
    audit.record(session, actor, action, f"runbook-run:{run.id}", now=runtime.clock.now(), detail=detail)


# -- the library --------------------------------------------------------------------------------------


@router.get("/runbooks", response_model=list[RunbookSummary])
def list_runbooks(runtime: RuntimeDep, _actor: Viewer) -> list[RunbookSummary]:
    """Runbooks in the configured folders, with their problems and warnings."""
    runbooks = cache_of(runtime).refresh().runbooks
    dupes = duplicate_problems(runbooks)
    out = []
    for runbook in sorted(runbooks, key=lambda r: (r.id, str(r.path))):
        dupe = dupes.get(id(runbook))
        extra = (
            [] if dupe is None else [ProblemRead(line=1, level=dupe.level.value, code=dupe.code, message=dupe.message)]
        )
        out.append(summary(runtime, runbook, extra))
    return out


@router.get("/runbooks/stats", response_model=list[StatsRead])
def runbook_stats(session: ReadSession, runtime: RuntimeDep, _actor: Viewer) -> list[StatsRead]:
    """Per runbook: times used, success rate, median time to resolve with and without it, review due."""
    runbooks = cache_of(runtime).refresh().runbooks
    figures = effectiveness.stats(session, runbooks, today=runtime.clock.now().date())
    return [StatsRead.model_validate(f) for f in figures]


@router.get("/runbooks/{runbook_id}")
def show_runbook(runbook_id: str, runtime: RuntimeDep, _actor: Viewer) -> dict[str, Any]:
    """One runbook: front matter, sections (heading path, role), steps, and lint findings."""
    runbook = cache_of(runtime).find(runbook_id)
    data = runbook_to_dict(runbook)
    data["problems"] = [p.model_dump() for p in _problems(runtime, runbook, [])]
    data["review_due"] = effectiveness.review_due(runbook)
    return data


@router.get("/incidents/{number}/runbooks", response_model=list[MatchRead])
def match_runbooks(
    number: PathId, session: ReadSession, runtime: RuntimeDep, _actor: Viewer, limit: int = 10
) -> list[MatchRead]:
    """Runbooks that fit the incident, best first, each with why."""
    incident = incidents.get_or_404(session, number)
    context = matching_context(incident, alert_context(session, incident))
    matches = rank(cache_of(runtime).refresh().runbooks, context, limit=max(1, min(limit, 100)))
    return [MatchRead(runbook=summary(runtime, m.runbook), score=m.score, reasons=list(m.reasons)) for m in matches]


# -- runs ---------------------------------------------------------------------------------------------


@router.get("/incidents/{number}/runbook-runs", response_model=list[RunSummary])
def list_runs(number: PathId, session: ReadSession, _actor: Viewer) -> list[RunSummary]:
    """The incident's runbook runs, oldest first."""
    incidents.get_or_404(session, number)
    return [_run_summary(r) for r in service.runs_of(session, number)]


@router.post("/incidents/{number}/runbook-runs", status_code=201, response_model=RunRead)
def start_run(number: PathId, body: RunStart, session: WriteSession, runtime: RuntimeDep, actor: Responder) -> RunRead:
    """Start a runbook on the incident; its steps are planned and frozen now."""
    incident = incidents.get_for_update(session, number)
    cache = cache_of(runtime)
    runbook = cache.find(body.runbook)
    run = service.start_run(
        session,
        incident,
        runbook,
        actor=actor,
        now=runtime.clock.now(),
        given=body.params,
        section=body.section,
        from_step=body.from_step,
        default_timeout=default_timeout(runtime),
        digest=cache.digest(runbook),
    )
    _audit(session, runtime, actor, "runbook.run.start", run, {"params": sorted(body.params), "path": run.path})
    session.commit()
    return run_read(run)


@router.get("/incidents/{number}/runbook-runs/{run_id}", response_model=RunRead)
def show_run(number: PathId, run_id: PathId, session: ReadSession, runtime: RuntimeDep, _actor: Viewer) -> RunRead:
    """A run: its frozen steps, their states, commands, exit codes and output."""
    return run_read(service.get_run(session, number, run_id))


@router.post("/incidents/{number}/runbook-runs/{run_id}/steps/{step_id}/run", status_code=202, response_model=StepRead)
def run_step(
    number: PathId,
    run_id: PathId,
    step_id: str,
    session: WriteSession,
    runtime: RuntimeDep,
    actor: Responder,
    body: StepRun | None = None,
) -> StepRead:
    """Queue a command step for the engine (202); dangerous steps need `confirm: true`."""
    body = body or StepRun()
    run = service.get_run(session, number, run_id, for_update=True)
    record = service.request_run(
        session, run, step_id, actor=actor, now=runtime.clock.now(), confirm=body.confirm, params=body.params
    )
    _audit(
        session,
        runtime,
        actor,
        "runbook.step.run",
        run,
        {"step": step_id, "command": record.command, "confirmed": record.confirmed, "params": sorted(body.params)},
    )
    session.commit()
    return _step_read(service.snapshot_step(run, step_id), record)


@router.post("/incidents/{number}/runbook-runs/{run_id}/steps/{step_id}/skip", response_model=StepRead)
def skip_step(
    number: PathId,
    run_id: PathId,
    step_id: str,
    body: StepSkip,
    session: WriteSession,
    runtime: RuntimeDep,
    actor: Responder,
) -> StepRead:
    """Skip a step, with a reason."""
    run = service.get_run(session, number, run_id, for_update=True)
    record = service.skip_step(session, run, step_id, actor=actor, now=runtime.clock.now(), reason=body.reason)
    _audit(session, runtime, actor, "runbook.step.skip", run, {"step": step_id, "reason": body.reason})
    session.commit()
    return _step_read(service.snapshot_step(run, step_id), record)


@router.post("/incidents/{number}/runbook-runs/{run_id}/steps/{step_id}/done", response_model=StepRead)
def done_step(
    number: PathId,
    run_id: PathId,
    step_id: str,
    body: StepDone,
    session: WriteSession,
    runtime: RuntimeDep,
    actor: Responder,
) -> StepRead:
    """Check off a manual or check step: done or not done, with an optional comment."""
    run = service.get_run(session, number, run_id, for_update=True)
    record = service.mark_done(
        session, run, step_id, actor=actor, now=runtime.clock.now(), done=body.done, comment=body.comment
    )
    _audit(session, runtime, actor, "runbook.step.done", run, {"step": step_id, "done": body.done})
    session.commit()
    return _step_read(service.snapshot_step(run, step_id), record)


@router.post("/incidents/{number}/runbook-runs/{run_id}/finish", response_model=RunRead)
def finish_run(
    number: PathId,
    run_id: PathId,
    session: WriteSession,
    runtime: RuntimeDep,
    actor: Responder,
    body: RunFinish | None = None,
) -> RunRead:
    """Finish the run; the outcome is success when every verification step passed."""
    run = service.get_run(session, number, run_id, for_update=True)
    comment = body.comment if body else ""
    service.finish_run(session, run, actor=actor, now=runtime.clock.now(), comment=comment)
    _audit(session, runtime, actor, "runbook.run.finish", run, {"outcome": run.outcome})
    session.commit()
    return run_read(run)
