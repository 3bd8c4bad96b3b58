"""The rules of runbook runs on incidents as people drive them: start, run/skip/confirm/done a step, finish.

Functions take a session and never commit; the API route or engine handler that called them commits once.
A step only ever runs the command frozen into the run when it started (from the file on disk), with
placeholder values that passed their pattern inserted as single shell-quoted words. A runbook with lint errors
does not start; a step that is not marked `auto`, or that needs confirmation, runs only when a person asks.
The engine's side of a step (claim it, record its result) is in `stepjobs`; the figures in `effectiveness`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.auth.actor import SYSTEM, Actor
from warroom.engine import jobs
from warroom.errors import Conflict, Forbidden, InvalidInput, NotFound
from warroom.incidents import service as incidents
from warroom.incidents import timeline
from warroom.incidents.models import Incident
from warroom.runbooks.blocktext import normalize_name
from warroom.runbooks.context import AlertContext, alert_context, incident_fields
from warroom.runbooks.danger import command_dangers
from warroom.runbooks.lint import LintMessage, lint_runbook
from warroom.runbooks.model import Level, Param, PlaceholderRef, Runbook, StepKind
from warroom.runbooks.model import Role as SectionRole
from warroom.runbooks.models import BUSY_STATES, RunbookRun, StepExecution, StepState
from warroom.runbooks.placeholders import Value, check_value, fill_command, resolve
from warroom.runbooks.plan import Outcome, PlannedStep, plan, select_steps, verification_steps
from warroom.runbooks.serialize import step_to_dict

STEP_JOB = "runbook-step"
DIAGNOSTIC_ROLES = (SectionRole.DETECTION, SectionRole.ASSESSMENT, SectionRole.DIAGNOSIS)
FINAL_STATES = (
    StepState.SUCCEEDED.value,
    StepState.FAILED.value,
    StepState.SKIPPED.value,
    StepState.DONE.value,
    StepState.NOT_DONE.value,
)


def job_key(run_id: int, step_id: str) -> str:
    """The engine job key of one step of one run (scheduling twice keeps one job)."""
    return f"run:{run_id}:step:{step_id}"


# -- values -------------------------------------------------------------------------------------------


@dataclass
class Values:
    """Placeholder values of a run and the names whose only candidate value was refused."""

    found: dict[str, Value] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


def resolve_values(
    names: Sequence[str],
    *,
    given: Mapping[str, str],
    context: AlertContext,
    incident: Incident,
    runbook: Runbook,
) -> Values:
    """Values in order: given, the alerts' labels then annotations, the incident's fields, the defaults.

    A refused given value is an error for the caller; a refused alert value leaves the placeholder
    unfilled (with the reason) rather than falling back to a default that may name another target."""
    out = Values()
    params = runbook.front.params
    for name, value in given.items():
        check_value(name, value, runbook.params.get(name))
    fields = incident_fields(incident)
    for name in names:
        try:
            # Only the alert that declared the incident fills placeholders (context.fill_*): an alert attached
            # later, perhaps from another sender, never puts its labels into these commands.
            found = resolve(
                [name],
                given=given,
                alert=[context.fill_labels, context.fill_annotations],
                incident=fields,
                params=params,
            )
        except InvalidInput as exc:
            if name in given:
                raise
            out.refused[name] = exc.detail
            continue
        if name in found:
            out.found[name] = found[name]
    return out


# -- starting a run -----------------------------------------------------------------------------------


def _snapshot_step(planned: PlannedStep, timeout: float, runbook: Runbook) -> dict[str, Any]:
    step = planned.step
    data = step_to_dict(step)
    declared = {normalize_name(p.name): p.pattern for p in runbook.front.params if p.pattern}
    data["patterns"] = {n: declared[n] for n in step.placeholders if n in declared}
    data["template"] = data.pop("command")
    data["refs"] = [[r.name, r.text, r.start, r.end] for r in step.refs]
    fill = planned.fill
    data["command"] = fill.command if fill is not None and fill.ready else None
    data["missing"] = list(fill.missing) if fill is not None else []
    data["fill_error"] = fill.error if fill is not None and step.kind is StepKind.COMMAND else None
    data["danger_reasons"] = list(planned.danger_reasons)
    data["dangerous"] = bool(planned.danger_reasons)
    data["unsafe"] = step.unsafe
    data["needs_confirmation"] = planned.needs_confirmation if step.kind is StepKind.COMMAND else False
    data["may_run_unattended"] = planned.may_run_unattended
    data["timeout"] = step.options.timeout or timeout
    return data


def start_run(
    session: Session,
    incident: Incident,
    runbook: Runbook,
    *,
    actor: Actor,
    now: datetime,
    given: Mapping[str, str] | None = None,
    section: str | None = None,
    from_step: int | None = None,
    default_timeout: float = 300.0,
    digest: str = "",
    auto: bool = False,
    context: AlertContext | None = None,
) -> RunbookRun:
    """Start `runbook` on `incident`: plan its steps with the placeholder values and freeze the plan.
    Conflict when `lint` finds errors in it (an unclosed fence would make the prose after it a command)."""
    errors = lint_errors(runbook, today=now.date())
    if errors:
        raise Conflict(cannot_start(runbook, errors), field="runbook")
    steps = select_steps(runbook, section=section, from_step=from_step)
    context = context if context is not None else alert_context(session, incident)
    names = list(dict.fromkeys(n for s in steps if s.kind is StepKind.COMMAND for n in s.placeholders))
    values = resolve_values(names, given=dict(given or {}), context=context, incident=incident, runbook=runbook)
    planned = plan(steps, values.found)
    snapshot = [_snapshot_step(p, default_timeout, runbook) for p in planned]
    for data in snapshot:
        reasons = [values.refused[n] for n in data["missing"] if n in values.refused]
        if reasons and data["fill_error"] is None:
            data["fill_error"] = "; ".join(reasons)
    selected = {s.id for s in steps}
    refused = {name: values.refused[name] for name in names if name in values.refused}
    run = RunbookRun(
        incident_id=incident.id,
        runbook_id=runbook.id,
        path=str(runbook.path or ""),
        title=runbook.title,
        digest=digest,
        started_by=actor.name,
        started_by_kind=actor.kind,
        started_at=now,
        auto=auto,
        params={name: {"value": v.value, "source": v.source} for name, v in values.found.items()},
        steps=snapshot,
        verify_ids=[s.id for s in verification_steps(runbook) if s.id in selected],
    )
    run.executions = [
        StepExecution(step_id=d["id"], index=d["index"], kind=d["kind"], state=StepState.PENDING.value, updated_at=now)
        for d in snapshot
        if d["kind"] != StepKind.REFERENCE.value
    ]
    session.add(run)
    session.flush()
    timeline.append(
        session,
        incident,
        kind="runbook_started",
        actor=actor,
        at=now,
        message=f"runbook {runbook.title} started"
        + (" (automatically)" if auto else "")
        + "".join(f"; <{name}> left unfilled: {why}" for name, why in refused.items()),
        data={
            "run_id": run.id,
            "runbook": runbook.id,
            "path": run.path,
            "title": runbook.title,
            "params": run.params,
            "steps": len(snapshot),
            "auto": auto,
            "refused": refused,
        },
    )
    return run


def lint_errors(runbook: Runbook, *, today: date) -> list[LintMessage]:
    """The lint findings at error level that keep `runbook` from starting."""
    return [m for m in lint_runbook(runbook, today=today) if m.level is Level.ERROR]


def cannot_start(runbook: Runbook, errors: Sequence[LintMessage]) -> str:
    """One message saying why and where: `Runbook 'x' cannot start: 2 lint errors; line 7: ...`."""
    first = errors[0]
    more = f" (and {len(errors) - 1} more: run `warroom runbook lint`)" if len(errors) > 1 else ""
    where = f"{runbook.path}:{first.line}" if runbook.path else f"line {first.line}"
    return f"Runbook {runbook.id!r} cannot start: lint finds errors; {where}: {first.message}{more}."


# -- finding ------------------------------------------------------------------------------------------


def get_run(session: Session, incident_id: int, run_id: int, *, for_update: bool = False) -> RunbookRun:
    """The run `run_id` of incident `incident_id`, or NotFound."""
    query = select(RunbookRun).where(RunbookRun.id == run_id, RunbookRun.incident_id == incident_id)
    if for_update:
        query = query.with_for_update()
    run = session.scalars(query).one_or_none()
    if run is None:
        raise NotFound(f"No runbook run {run_id} on incident #{incident_id}.", field="run_id")
    return run


def runs_of(session: Session, incident_id: int) -> list[RunbookRun]:
    """The incident's runbook runs, oldest first."""
    return list(
        session.scalars(select(RunbookRun).where(RunbookRun.incident_id == incident_id).order_by(RunbookRun.id))
    )


def snapshot_step(run: RunbookRun, step_id: str) -> dict[str, Any]:
    """The frozen step `step_id` of `run`, or NotFound."""
    for data in run.steps:
        if data["id"] == step_id:
            return data
    raise NotFound(f"Run {run.id} has no step {step_id!r}: see GET .../runbook-runs/{run.id}.", field="step_id")


def execution(run: RunbookRun, step_id: str) -> StepExecution:
    """The execution record of step `step_id`; Conflict for reference blocks, which never run."""
    for record in run.executions:
        if record.step_id == step_id:
            return record
    snapshot_step(run, step_id)
    raise Conflict(f"Step {step_id} is a reference block: it is shown, never run or checked off.", field="step_id")


def _open(run: RunbookRun) -> None:
    if not run.is_open:
        raise Conflict(
            f"Runbook run {run.id} finished at {run.finished_at:%Y-%m-%d %H:%M} UTC: start a new run to do more.",
        )


def incident_of(session: Session, run: RunbookRun) -> Incident:
    """The incident the run belongs to."""
    return incidents.get_or_404(session, run.incident_id)


def step_data(run: RunbookRun, data: dict[str, Any], record: StepExecution) -> dict[str, Any]:
    """What every timeline event about one step of a run says of it."""
    return {
        "run_id": run.id,
        "runbook": run.runbook_id,
        "step_id": record.step_id,
        "index": record.index,
        "kind": record.kind,
        "section": data.get("section", ""),
        "title": step_title(data),
    }


def step_title(data: Mapping[str, Any]) -> str:
    """A one-line name for a frozen step: its description, label, text or command."""
    for key in ("description", "label", "text", "template"):
        value = data.get(key) or ""
        if value.strip():
            return str(value.strip().splitlines()[0])
    return f"step {data.get('index')}"


# -- running, skipping, checking off ------------------------------------------------------------------


def _refill(run: RunbookRun, data: dict[str, Any], extra: Mapping[str, str]) -> dict[str, Any]:
    """Fill a step's missing placeholders with values a person gives now; returns the new step data."""
    missing = set(data["missing"])
    unknown = sorted(set(extra) - missing)
    if unknown:
        raise InvalidInput(
            f"Step {data['index']} has no unfilled placeholder {', '.join(unknown)}: values fixed when the run "
            "started cannot change (start a new run to use other values).",
            field="params",
        )
    patterns: dict[str, str] = data.get("patterns") or {}
    for name, value in extra.items():
        check_value(name, value, Param(name, pattern=patterns.get(name)))
    values = {name: v["value"] for name, v in run.params.items()}
    values.update(extra)
    refs = [PlaceholderRef(name, text, start, end) for name, text, start, end in data["refs"]]
    fill = fill_command(data["template"], refs, values)
    updated = dict(data)
    updated["command"] = fill.command if fill.ready else None
    updated["missing"] = list(fill.missing)
    updated["fill_error"] = fill.error
    if fill.command is not None:
        # Danger is judged on the command as it will run: a value may be what makes it dangerous.
        reasons = list(dict.fromkeys([*(data.get("danger_reasons") or []), *command_dangers(fill.command)]))
        updated["danger_reasons"], updated["dangerous"] = reasons, bool(reasons)
        updated["needs_confirmation"] = bool(data.get("needs_confirmation")) or bool(reasons)
        updated["may_run_unattended"] = bool(data.get("may_run_unattended")) and not reasons
    return updated


def request_run(
    session: Session,
    run: RunbookRun,
    step_id: str,
    *,
    actor: Actor,
    now: datetime,
    confirm: bool = False,
    params: Mapping[str, str] | None = None,
) -> StepExecution:
    """Queue a command step for the engine. Dangerous and `confirm` steps need `confirm`; the command is the
    one frozen at start, filled; values given now may only fill placeholders still empty."""
    _open(run)
    data = snapshot_step(run, step_id)
    record = execution(run, step_id)
    if data["kind"] != StepKind.COMMAND.value:
        raise Conflict(
            f"Step {data['index']} is a {data['kind']} step: a person does it; mark it with POST .../done.",
            field="step_id",
        )
    if record.state in BUSY_STATES:
        raise Conflict(f"Step {data['index']} is already {record.state}.", field="step_id")
    if not actor.is_person and not data.get("may_run_unattended"):
        # An integration (an alert sender's key) or warroom itself starts only what the runbook marks `auto`.
        raise Forbidden(
            f"Step {data['index']} is not marked for automatic runs (or needs confirmation): only a person can "
            f"run it, not {actor.kind} {actor.name!r}.",
        )
    if params:
        data = _refill(run, data, params)
        for name, value in params.items():
            run.params = {**run.params, name: {"value": value, "source": "given"}}
        run.steps = [data if d["id"] == step_id else d for d in run.steps]
    if data["command"] is None:
        why = data["fill_error"] or "unfilled placeholder(s) " + ", ".join(f"<{n}>" for n in data["missing"])
        raise Conflict(
            f'Step {data["index"]} cannot run: {why}. Give values with "params": {{name: value}}.', field="params"
        )
    if data["needs_confirmation"] and not confirm:
        reasons = ", ".join(data.get("danger_reasons") or []) or "the runbook marks it confirm"
        raise InvalidInput(
            f'Step {data["index"]} is dangerous ({reasons}): send "confirm": true to run `{data["command"]}`.',
            field="confirm",
        )
    record.state = StepState.QUEUED.value
    record.command = data["command"]
    record.confirmed = bool(confirm and data["needs_confirmation"])
    record.actor, record.actor_kind = actor.name, actor.kind
    record.exit_code = record.duration = None
    record.output, record.output_bytes, record.truncated, record.timed_out, record.note = "", 0, False, False, ""
    record.reason = ""
    record.queued_at = now
    record.started_at = record.finished_at = None
    record.updated_at = now
    if record.confirmed:
        timeline.append(
            session,
            incident_of(session, run),
            kind="runbook_step_confirmed",
            actor=actor,
            at=now,
            message=f"confirmed dangerous step {data['index']}: {data['command']}",
            data={**step_data(run, data, record), "command": data["command"], "dangers": data["danger_reasons"]},
        )
    jobs.schedule(
        session,
        STEP_JOB,
        key=job_key(run.id, step_id),
        due=now,
        payload={"run_id": run.id, "step_id": step_id},
        now=now,
    )
    return record


def skip_step(
    session: Session, run: RunbookRun, step_id: str, *, actor: Actor, now: datetime, reason: str
) -> StepExecution:
    """Skip a step, with the reason on the timeline."""
    _open(run)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the step is skipped (reason).", field="reason")
    data = snapshot_step(run, step_id)
    record = execution(run, step_id)
    if record.state in BUSY_STATES:
        raise Conflict(f"Step {data['index']} is {record.state}: it cannot be skipped now.", field="step_id")
    record.state = StepState.SKIPPED.value
    record.reason = reason
    record.actor, record.actor_kind = actor.name, actor.kind
    record.finished_at = record.updated_at = now
    timeline.append(
        session,
        incident_of(session, run),
        kind="runbook_step_skipped",
        actor=actor,
        at=now,
        message=f"skipped step {data['index']}: {reason}",
        data={**step_data(run, data, record), "reason": reason, "command": data.get("command")},
    )
    return record


def mark_done(
    session: Session, run: RunbookRun, step_id: str, *, actor: Actor, now: datetime, done: bool, comment: str = ""
) -> StepExecution:
    """Record a person's answer to a manual or check step: done or not done, with an optional comment."""
    _open(run)
    data = snapshot_step(run, step_id)
    record = execution(run, step_id)
    if data["kind"] == StepKind.COMMAND.value:
        raise Conflict(
            f"Step {data['index']} is a command: run it (POST .../run) or skip it; it cannot be checked off.",
            field="step_id",
        )
    record.state = (StepState.DONE if done else StepState.NOT_DONE).value
    record.reason = comment.strip()
    record.actor, record.actor_kind = actor.name, actor.kind
    record.finished_at = record.updated_at = now
    word = "done" if done else "not done"
    timeline.append(
        session,
        incident_of(session, run),
        kind="runbook_step_done",
        actor=actor,
        at=now,
        message=f"step {data['index']} {word}: {step_title(data)}" + (f" ({record.reason})" if record.reason else ""),
        data={**step_data(run, data, record), "done": done, "comment": record.reason},
    )
    return record


# -- outcome and finishing ----------------------------------------------------------------------------


def passed(run: RunbookRun) -> dict[str, bool]:
    """Step id -> passed, for steps that ran or were checked off."""
    out: dict[str, bool] = {}
    for record in run.executions:
        if record.state in (StepState.SUCCEEDED.value, StepState.DONE.value):
            out[record.step_id] = True
        elif record.state in (StepState.FAILED.value, StepState.NOT_DONE.value):
            out[record.step_id] = False
    return out


def outcome(run: RunbookRun) -> Outcome:
    """Success when every verification step passed; failed when one failed; unknown otherwise or if none."""
    if not run.verify_ids:
        return Outcome.UNKNOWN
    results = [passed(run).get(step_id) for step_id in run.verify_ids]
    if any(r is False for r in results):
        return Outcome.FAILED
    if all(r is True for r in results):
        return Outcome.SUCCESS
    return Outcome.UNKNOWN


def finish_run(
    session: Session,
    run: RunbookRun,
    *,
    actor: Actor,
    now: datetime,
    comment: str = "",
    incident: Incident | None = None,
) -> RunbookRun:
    """Finish the run and record its outcome; steps still queued are cancelled (marked skipped)."""
    _open(run)
    verdict = outcome(run)
    jobs.cancel(session, STEP_JOB, key_prefix=f"run:{run.id}:")
    counts: dict[str, int] = {}
    for record in run.executions:
        if record.state == StepState.QUEUED.value:
            record.state = StepState.SKIPPED.value
            record.reason = "the run finished before the step ran"
            record.finished_at = record.updated_at = now
        counts[record.state] = counts.get(record.state, 0) + 1
    run.finished_at = now
    run.finished_by = actor.name
    run.outcome = verdict.value
    timeline.append(
        session,
        incident or incident_of(session, run),
        kind="runbook_finished",
        actor=actor,
        at=now,
        message=f"runbook {run.title} finished: {verdict.value}" + (f" ({comment.strip()})" if comment.strip() else ""),
        data={
            "run_id": run.id,
            "runbook": run.runbook_id,
            "outcome": verdict.value,
            "steps": counts,
            "comment": comment.strip(),
        },
    )
    return run


def finish_open_runs(session: Session, incident: Incident, *, actor: Actor, now: datetime) -> int:
    """Finish every open run of a resolved incident (its outcome counts in the stats); returns how many."""
    count = 0
    for run in runs_of(session, incident.id):
        if run.is_open:
            finish_run(session, run, actor=actor, now=now, comment="incident resolved", incident=incident)
            count += 1
    return count


# -- automatic runs -----------------------------------------------------------------------------------


def unattended_order(run: RunbookRun) -> list[dict[str, Any]]:
    """The steps that may run without a person (`auto`, not dangerous, filled), diagnostics first."""
    allowed = [d for d in run.steps if d["kind"] == StepKind.COMMAND.value and d.get("may_run_unattended")]
    allowed = [d for d in allowed if d["command"] is not None]
    diagnostic = {r.value for r in DIAGNOSTIC_ROLES}
    return sorted(allowed, key=lambda d: (d.get("role") not in diagnostic, d["index"]))


def queue_unattended(session: Session, run: RunbookRun, *, now: datetime) -> list[str]:
    """Queue the run's unattended steps for the engine, diagnostics first; returns their ids in order."""
    queued: list[str] = []
    for data in unattended_order(run):
        record = execution(run, data["id"])
        record.state = StepState.QUEUED.value
        record.command = data["command"]
        record.actor, record.actor_kind = SYSTEM.name, SYSTEM.kind
        record.queued_at = record.updated_at = now
        # The engine takes due jobs in (due, id) order: scheduled in this order, they run in this order.
        jobs.schedule(
            session,
            STEP_JOB,
            key=job_key(run.id, data["id"]),
            due=now,
            payload={"run_id": run.id, "step_id": data["id"]},
            now=now,
        )
        queued.append(data["id"])
    return queued
