"""The engine's side of runbooks: the `runbook-step` job runs one queued step on the server host."""

from __future__ import annotations

from sqlalchemy.orm import Session

from warroom.engine.jobs import JobContext, JobKind
from warroom.engine.models import Job
from warroom.runbooks import service, stepjobs
from warroom.runbooks.runner import run_command

EXEC_OFF = "not run: runbook steps are turned off on this server (WARROOM_ALLOW_EXEC=false)"


def run_step(ctx: JobContext, session: Session, job: Job) -> None:
    """Run a queued step: claim it, release the database, run the command, record the result."""
    runtime = ctx.runtime
    run_id, step_id = int(job.payload["run_id"]), str(job.payload["step_id"])
    claimed = stepjobs.claim_step(session, run_id, step_id, now=ctx.now)
    if claimed is None:
        return
    # Commit the claim before the command runs: it may take minutes, and on SQLite an open write
    # transaction would hold the one write lock (every API change and every other job would wait). A step
    # marked `running` is never started again, so a crash from here on cannot run the command twice.
    session.commit()
    if not runtime.settings.allow_exec:  # the operator's kill-switch: no command runs on this host
        stepjobs.record_failure(session, run_id, step_id, EXEC_OFF, now=runtime.clock.now())
        return
    settings = runtime.config.runbooks
    try:
        result = run_command(
            claimed.command,
            timeout=claimed.timeout,
            cwd=settings.workdir or None,
            env=stepjobs.step_environment(),
        )
    except OSError as exc:
        stepjobs.record_failure(
            session, run_id, step_id, f"could not start the command: {exc.strerror or exc}", now=runtime.clock.now()
        )
        return
    # A short transaction of its own: the result, the timeline event, and (by the engine) the job's removal.
    stepjobs.record_result(session, run_id, step_id, result, now=runtime.clock.now())


def _dead(ctx: JobContext, session: Session, job: Job, error: str) -> None:
    stepjobs.record_failure(
        session,
        int(job.payload["run_id"]),
        str(job.payload["step_id"]),
        f"the engine could not run this step: {error}",
        now=ctx.now,
    )


STEP_KIND = JobKind(service.STEP_JOB, run_step, max_attempts=3, on_dead=_dead)
