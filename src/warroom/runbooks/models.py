"""Tables of the runbooks domain: runs of a runbook on an incident, and what happened to each step."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warroom.db import Base, UTCDateTime


class StepState(StrEnum):
    """Where a step is in a run. `queued` waits for the engine; done/not_done are a person's answer."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    DONE = "done"
    NOT_DONE = "not_done"


BUSY_STATES = (StepState.QUEUED.value, StepState.RUNNING.value)


class RunbookRun(Base):
    """One use of a runbook on an incident. `steps` is the plan frozen when the run started: an edit to
    the file mid-incident cannot change what a step runs."""

    __tablename__ = "runbook_runs"
    __table_args__ = (
        Index("ix_runbook_runs_incident_id", "incident_id", "id"),
        Index("ix_runbook_runs_runbook_id", "runbook_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    runbook_id: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(String(300))
    digest: Mapped[str] = mapped_column(String(64), default="")
    started_by: Mapped[str] = mapped_column(String(100))
    started_by_kind: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    auto: Mapped[bool] = mapped_column(Boolean, default=False)
    # {name: {"value": ..., "source": given|alert|incident|default}}
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The planned steps at start: [{id, index, kind, section, command (filled), raw_command, refs, ...}]
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    verify_ids: Mapped[list[str]] = mapped_column(JSON, default=list)

    executions: Mapped[list[StepExecution]] = relationship(
        back_populates="run", cascade="all, delete-orphan", lazy="selectin", order_by="StepExecution.index"
    )

    @property
    def is_open(self) -> bool:
        """True until finished."""
        return self.finished_at is None


class StepExecution(Base):
    """What happened to one step of a run: its state, the exact command run, its result, and who."""

    __tablename__ = "runbook_step_executions"
    __table_args__ = (UniqueConstraint("run_id", "step_id", name="uq_runbook_step_executions_run_id_step_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runbook_runs.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(20))
    index: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default=StepState.PENDING.value)
    command: Mapped[str | None] = mapped_column(Text, nullable=True)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    output: Mapped[str] = mapped_column(Text, default="")
    output_bytes: Mapped[int] = mapped_column(Integer, default=0)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str | None] = mapped_column(String(100), nullable=True)
    actor_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    run: Mapped[RunbookRun] = relationship(back_populates="executions")
