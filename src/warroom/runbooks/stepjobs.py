"""The engine's side of a runbook step: claim a queued step, then record what its command did on the timeline.

Functions take a session and never commit; the engine handler that called them commits once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.auth.actor import SYSTEM, Actor, Role
from warroom.engine import jobs
from warroom.incidents import timeline
from warroom.runbooks.models import BUSY_STATES, RunbookRun, StepExecution, StepState
from warroom.runbooks.runner import RunResult
from warroom.runbooks.service import incident_of, snapshot_step, step_data

# What a timeline event keeps of a step's output; the step execution keeps up to 64 KiB.
TIMELINE_EXCERPT = 4096
# A step still `running` this long after its timeout was abandoned by a stopped engine.
ABANDON_GRACE = timedelta(minutes=1)


def excerpt(text: str, limit: int = TIMELINE_EXCERPT) -> str:
    """The start and end of `text` within `limit` characters, with a marker where the middle was cut."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut; the run keeps the rest ...]\n{text[-half:]}"


@dataclass(frozen=True)
class Claimed:
    """A step the engine is about to run: the exact command and its time limit."""

    run_id: int
    step_id: str
    command: str
    timeout: float


def _locked_run(session: Session, run_id: int) -> RunbookRun | None:
    # FOR UPDATE on PostgreSQL: an API request finishing the run (or skipping the step) and the engine
    # claiming the step are serialised, so a step never starts on a run that was just finished.
    return session.scalars(select(RunbookRun).where(RunbookRun.id == run_id).with_for_update()).one_or_none()


def claim_step(session: Session, run_id: int, step_id: str, *, now: datetime) -> Claimed | None:
    """Mark a queued step running and return what to run; None when there is nothing to do (cancelled,
    already done). A step found `running` was left by a stopped engine: it is never run twice."""
    run = _locked_run(session, run_id)
    if run is None:
        return None
    record = next((r for r in run.executions if r.step_id == step_id), None)
    if record is None or record.command is None:
        return None
    data = snapshot_step(run, step_id)
    timeout = float(data.get("timeout") or 300.0)
    if record.state == StepState.RUNNING.value:
        started = record.started_at or now
        if now < started + timedelta(seconds=timeout) + ABANDON_GRACE:
            raise jobs.Retry(started + timedelta(seconds=timeout) + ABANDON_GRACE - now, "step still running")
        _finish_record(
            session,
            run,
            record,
            now=now,
            state=StepState.FAILED,
            note="the engine stopped while this step ran; its result is unknown and it was not run again",
        )
        return None
    if record.state != StepState.QUEUED.value:
        return None
    # A console person (kind "person") is a person as much as an API token is: see Actor.is_person.
    unattended = record.actor_kind not in ("token", "user", "person")
    if (unattended and not data.get("may_run_unattended")) or (data.get("needs_confirmation") and not record.confirmed):
        # The last gate before bash: whatever queued it, a step that needs a person never runs without one.
        _finish_record(
            session,
            run,
            record,
            now=now,
            state=StepState.FAILED,
            note="not run: this step needs a person to confirm it, and nobody did",
        )
        return None
    record.state = StepState.RUNNING.value
    record.started_at = record.updated_at = now
    record.attempts += 1
    return Claimed(run.id, step_id, record.command, timeout)


def _actor_of(record: StepExecution) -> Actor:
    if record.actor_kind == SYSTEM.kind or record.actor is None:
        return SYSTEM
    return Actor(name=record.actor, role=Role.RESPONDER, kind=record.actor_kind or "token")


def _finish_record(
    session: Session,
    run: RunbookRun,
    record: StepExecution,
    *,
    now: datetime,
    state: StepState,
    result: RunResult | None = None,
    note: str = "",
) -> None:
    data = snapshot_step(run, record.step_id)
    record.state = state.value
    record.finished_at = record.updated_at = now
    if result is not None:
        record.exit_code = result.exit_code
        record.duration = round(result.duration, 3)
        record.output = result.output
        record.output_bytes = result.output_bytes
        record.truncated = result.truncated
        record.timed_out = result.timed_out
        note = note or result.note
    record.note = note
    if result is not None and result.timed_out:
        outcome_text = f"timed out after {data.get('timeout'):g}s"
    elif result is not None:
        outcome_text = f"exit {result.exit_code} in {result.duration:.2f}s"
    else:
        outcome_text = note
    timeline.append(
        session,
        incident_of(session, run),
        kind="runbook_step_ran",
        actor=_actor_of(record),
        at=now,
        message=f"step {record.index} {'succeeded' if state is StepState.SUCCEEDED else 'failed'} "
        f"({outcome_text}): {record.command}",
        data={
            **step_data(run, data, record),
            "command": record.command,
            "exit_code": record.exit_code,
            "duration": record.duration,
            "timed_out": record.timed_out,
            "truncated": record.truncated,
            "output_bytes": record.output_bytes,
            "output": excerpt(record.output),
            "confirmed": record.confirmed,
            "ok": state is StepState.SUCCEEDED,
            "note": note,
        },
    )


def record_result(session: Session, run_id: int, step_id: str, result: RunResult, *, now: datetime) -> None:
    """Store what a step's command did and put it on the incident's timeline."""
    run = _locked_run(session, run_id)
    if run is None:
        return
    record = next((r for r in run.executions if r.step_id == step_id), None)
    if record is None or record.state != StepState.RUNNING.value:
        return
    _finish_record(
        session, run, record, now=now, state=StepState.SUCCEEDED if result.ok else StepState.FAILED, result=result
    )


def record_failure(session: Session, run_id: int, step_id: str, message: str, *, now: datetime) -> None:
    """The command could not be started at all (no bash, no working folder): the step failed."""
    run = _locked_run(session, run_id)
    if run is None:
        return
    record = next((r for r in run.executions if r.step_id == step_id), None)
    if record is None or record.state not in BUSY_STATES:
        return
    _finish_record(session, run, record, now=now, state=StepState.FAILED, note=message)


def step_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment steps run with: the server's, without any WARROOM_* variable (tokens, database URL)."""
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if not k.upper().startswith("WARROOM_")}
