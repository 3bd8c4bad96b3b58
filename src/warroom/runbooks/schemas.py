"""What goes in and out of the runbooks API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RunStart(_In):
    """Start a runbook on an incident."""

    runbook: str = Field(min_length=1, max_length=200, description="A runbook id from the runbook folders.")
    params: dict[str, str] = Field(default_factory=dict, description="Placeholder values; they win over alerts.")
    section: str | None = Field(default=None, max_length=300, description="Only steps under matching sections.")
    from_step: int | None = Field(default=None, ge=1, description="Start at this step number.")


class StepRun(_In):
    """Run a command step. Dangerous steps need `confirm: true`."""

    confirm: bool = False
    params: dict[str, str] = Field(
        default_factory=dict, description="Values for placeholders of this step that are still unfilled."
    )


class StepSkip(_In):
    """Skip a step, saying why."""

    reason: str = Field(min_length=1, max_length=10_000)


class StepDone(_In):
    """A person's answer to a manual or check step."""

    done: bool = True
    comment: str = Field(default="", max_length=10_000)


class RunFinish(_In):
    """Finish a run; its outcome is computed from its verification steps."""

    comment: str = Field(default="", max_length=10_000)


class StepRead(BaseModel):
    """A step of a run: the frozen plan and what happened to it."""

    id: str
    index: int
    kind: str
    section: str
    role: str | None
    title: str
    description: str
    label: str = Field(description="The text that introduces the step (a list item or paragraph).")
    text: str
    language: str
    template: str | None = Field(description="The command as written in the file (placeholders unfilled).")
    command: str | None = Field(description="The exact command that runs (values shell-quoted), if it can run.")
    placeholders: list[str]
    missing: list[str]
    fill_error: str | None
    dangerous: bool
    danger_reasons: list[str]
    needs_confirmation: bool
    options: dict[str, Any]
    timeout: float
    state: str | None = Field(description="None for reference blocks, which are shown but never run.")
    exit_code: int | None = None
    duration: float | None = None
    output: str = ""
    output_bytes: int = 0
    truncated: bool = False
    timed_out: bool = False
    note: str = ""
    confirmed: bool = False
    actor: str | None = None
    reason: str = ""
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class RunRead(BaseModel):
    """A runbook run with its frozen steps."""

    id: int
    incident: int
    runbook: str
    title: str
    path: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    finished_by: str | None
    outcome: str | None
    outcome_now: str = Field(description="What the outcome would be if the run finished now.")
    auto: bool
    file_changed: bool = Field(description="The runbook file changed since the run started (steps stay frozen).")
    params: dict[str, dict[str, str]]
    verify_steps: list[str]
    steps: list[StepRead]


class RunSummary(BaseModel):
    """A run in a list."""

    id: int
    incident: int
    runbook: str
    title: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None
    auto: bool


class ProblemRead(BaseModel):
    """A problem or warning found in a runbook file."""

    line: int
    level: str
    code: str
    message: str


class RunbookSummary(BaseModel):
    """A runbook in the library."""

    id: str
    title: str
    path: str | None
    services: list[str]
    owner: str | None
    severity: str | None
    sections: int
    steps: int
    commands: int
    review_due: date | None
    errors: int
    warnings: int
    problems: list[ProblemRead]


class MatchRead(BaseModel):
    """A runbook that fits an incident, with its score and why."""

    runbook: RunbookSummary
    score: float
    reasons: list[str]


class StatsRead(BaseModel):
    """How a runbook has served."""

    model_config = ConfigDict(from_attributes=True)

    runbook: str
    title: str
    times_used: int
    incidents: int
    finished: int
    succeeded: int
    failed: int
    success_rate: float | None
    median_resolve_with: float | None = Field(description="Seconds, started to resolved, incidents that used it.")
    resolved_with: int
    median_resolve_without: float | None = Field(description="Same severities, incidents that did not use it.")
    resolved_without: int
    severities: list[str]
    last_used: datetime | None
    review_due: date | None
    review_overdue: bool
    in_library: bool
