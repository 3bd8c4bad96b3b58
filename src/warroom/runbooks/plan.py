"""Planning a run (which steps, with which filled commands) and judging its outcome. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from warroom.errors import InvalidInput
from warroom.runbooks.danger import command_dangers
from warroom.runbooks.model import Role, Runbook, Step, StepKind
from warroom.runbooks.placeholders import Fill, Value, fill_step


class Outcome(StrEnum):
    """A run succeeded when its verification passed; unknown when it has nothing that verifies."""

    SUCCESS = "success"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PlannedStep:
    """A step as it would run now: its filled command or why it cannot run, and whether to ask first."""

    step: Step
    fill: Fill | None

    @property
    def danger_reasons(self) -> tuple[str, ...]:
        """Why the step is dangerous: by the file's text, and by the command as filled (a label holding
        `DROP TABLE users` makes `psql -c <query>` dangerous only once it is in)."""
        reasons = list(self.step.danger_reasons)
        if self.fill is not None and self.fill.command is not None:
            reasons.extend(command_dangers(self.fill.command))
        return tuple(dict.fromkeys(reasons))

    @property
    def needs_confirmation(self) -> bool:
        """Dangerous steps (before or after filling) and steps marked `confirm` always ask a person."""
        return bool(self.danger_reasons) or self.step.options.confirm

    @property
    def may_run_unattended(self) -> bool:
        """Only `auto` steps that need no confirmation, have no placeholder where bash reads it again, and are
        filled may run without a person."""
        return (
            self.step.options.auto
            and not self.needs_confirmation
            and self.fill is not None
            and self.fill.ready
            and not self.step.unsafe
        )


def select_steps(runbook: Runbook, *, section: str | None = None, from_step: int | None = None) -> list[Step]:
    """The steps of `runbook` under a section (matched case-insensitively on any part of the heading
    path) and from a 1-based step number on; raises InvalidInput when nothing is left."""
    steps = runbook.steps
    if from_step is not None:
        if not 1 <= from_step <= len(steps):
            raise InvalidInput(f"--from-step {from_step}: this runbook has steps 1 to {len(steps)}", field="from_step")
        steps = steps[from_step - 1 :]
    if section:
        wanted = section.strip().lower()
        steps = [s for s in steps if wanted in s.section_path.lower()]
        if not steps:
            titles = sorted({s.title for s in runbook.sections if s.title})[:8]
            raise InvalidInput(
                f"no steps under a section matching {section!r}; sections include: {', '.join(titles)}",
                field="section",
            )
    return steps


def plan(steps: Sequence[Step], values: Mapping[str, Value | str]) -> list[PlannedStep]:
    """Each step with its command filled from `values` (or the reason it cannot be)."""
    plain = {k: (v.value if isinstance(v, Value) else v) for k, v in values.items()}
    return [PlannedStep(step, fill_step(step, plain) if step.kind is StepKind.COMMAND else None) for step in steps]


def verification_steps(runbook: Runbook) -> list[Step]:
    """Steps whose success means recovered: `verify` steps, or else the Verification section's commands."""
    marked = [s for s in runbook.steps if s.kind is StepKind.COMMAND and s.options.verify]
    if marked:
        return marked
    return [s for s in runbook.steps if s.kind is StepKind.COMMAND and s.role is Role.VERIFICATION]


def outcome(runbook: Runbook, passed: Mapping[str, bool]) -> Outcome:
    """The run's outcome from step id -> passed; verification steps not run leave it unknown."""
    checks = verification_steps(runbook)
    if not checks:
        return Outcome.UNKNOWN
    results = [passed.get(step.id) for step in checks]
    if any(r is False for r in results):
        return Outcome.FAILED
    if all(r is True for r in results):
        return Outcome.SUCCESS
    return Outcome.UNKNOWN
