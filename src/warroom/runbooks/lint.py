"""Checks for a runbook repository's CI: `file:line: level: message`, errors fail, warnings advise."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from warroom.runbooks.headings import clean_heading, role_of
from warroom.runbooks.model import Level, Runbook, Step, StepKind

# Names an incident can fill without a param: common alert labels and annotations, incident fields.
DEFAULT_FILLABLE = frozenset(
    {
        "alertname",
        "service",
        "severity",
        "instance",
        "job",
        "namespace",
        "pod",
        "container",
        "cluster",
        "env",
        "environment",
        "host",
        "hostname",
        "node",
        "region",
        "zone",
        "team",
        "deployment",
        "summary",
        "description",
        "runbook_url",
        "incident",
        "incident_number",
        "number",
        "title",
    }
)


# A step that is only `cd DIR`: each step runs in a shell of its own, so it changes nothing for the next one.
_CD_ALONE = re.compile(r"\s*cd(?:\s+\S+)?\s*")
# Commands that run until stopped. On the server the step's timeout stops them, with nothing to show for it.
_ENDLESS = [  # (name, a word the command must contain, pattern): the word first, as in danger.py
    ("top", "top", re.compile(r"(?:^|[;&|(]\s*|\bsudo\s+)h?top\b(?![^;&|\n]*\s-[a-zA-Z]*n)")),
    ("tail -f", "tail", re.compile(r"\btail\b[^;&|\n]*\s(?:-[a-zA-Z0-9]*[fF]\b|--follow)")),
    ("journalctl -f", "journalctl", re.compile(r"\bjournalctl\b[^;&|\n]*\s(?:-[a-zA-Z]*f\b|--follow)")),
    (
        "logs -f",
        "logs",
        re.compile(r"\b(?:kubectl|docker|docker-compose)\b[^;&|\n]*\blogs\b[^;&|\n]*\s(?:-f\b|--follow)"),
    ),
    ("watch", "watch", re.compile(r"(?:^|[;&|(]\s*|\bsudo\s+)watch\b")),
    ("ping without -c", "ping", re.compile(r"(?:^|[;&|(]\s*|\bsudo\s+)ping6?\b(?![^;&|\n]*\s-[a-zA-Z]*[cw])")),
]
_TIMEOUT_COMMAND = re.compile(r"(?:^|[;&|(]\s*|\bsudo\s+)timeout\s")


def endless(step: Step) -> str | None:
    """The name of a command in `step` that never ends by itself, unless the step has a timeout; else None."""
    command = step.command or ""
    if step.options.timeout is not None:
        return None
    for name, word, pattern in _ENDLESS:
        if word in command and pattern.search(command):
            return None if _TIMEOUT_COMMAND.search(command) else name
    return None


@dataclass(frozen=True)
class LintMessage:
    """One finding, printable as `file:line: level: message`."""

    file: str
    line: int
    level: Level
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.level.value}: {self.message}"


def _name(runbook: Runbook) -> str:
    return str(runbook.path) if runbook.path else runbook.id


def lint_runbook(runbook: Runbook, *, today: date, fillable: Iterable[str] = DEFAULT_FILLABLE) -> list[LintMessage]:
    """Every finding for one runbook: its parse problems and the checks below."""
    file = _name(runbook)
    out = [LintMessage(file, p.line, p.level, p.code, p.message) for p in runbook.problems]

    def add(line: int, level: Level, code: str, message: str) -> None:
        out.append(LintMessage(file, line, level, code, message))

    front = runbook.front
    for required in front.required_sections:
        wanted = clean_heading(required).lower()
        wanted_role = role_of(clean_heading(required))
        present = any(
            section.title.lower() == wanted or (wanted_role is not None and section.own_role is wanted_role)
            for section in runbook.sections
        )
        if not present:
            add(1, Level.ERROR, "missing-section", f"required section {required!r} is missing")
    if front.last_reviewed is not None:
        every = front.review_every or timedelta(days=365)
        due = front.last_reviewed + every
        if due < today:
            add(
                1,
                Level.WARNING,
                "review-due",
                f"review was due on {due.isoformat()} (last reviewed {front.last_reviewed})",
            )
    elif front.review_every is not None:
        add(1, Level.WARNING, "review-due", "review_every is set but last_reviewed is not")

    fillable_set = {name.replace("-", "_") for name in fillable}
    declared = {name.replace("-", "_") for name in runbook.params}
    with_default = {p.name.replace("-", "_") for p in front.params if p.default is not None}
    reported: set[str] = set()
    for step in runbook.steps:
        if step.kind is not StepKind.COMMAND or step.command is None:
            continue
        for reason in step.unsafe:
            add(step.line, Level.ERROR, "unsafe-placeholder", f"{reason}: move it to a plain argument")
        if _CD_ALONE.fullmatch(step.command):
            add(
                step.line,
                Level.WARNING,
                "cd-alone",
                "`cd` alone changes nothing: each step runs in a shell of its own; write `cd DIR && command`",
            )
        never = endless(step)
        if never is not None:
            add(
                step.line,
                Level.WARNING,
                "never-ends",
                f"{never} runs until it is stopped: give the step {{timeout=...}}, use `timeout N`, "
                "or a form that ends (`top -b -n 1`, `tail -n 100`)",
            )
        for name in step.placeholders:
            if name in reported:
                continue
            reported.add(name)
            if name not in declared:
                add(
                    step.line,
                    Level.WARNING,
                    "undeclared-placeholder",
                    f"placeholder <{name}> is not declared in params: declare it (with a pattern for its values)",
                )
            elif name not in with_default and name not in fillable_set:
                add(
                    step.line,
                    Level.WARNING,
                    "unfillable",
                    f"placeholder <{name}> is declared without a default and is no alert label or incident field: "
                    "someone must type it",
                )
        if step.dangerous and not step.options.confirm:
            add(
                step.line,
                Level.WARNING,
                "confirm",
                f"dangerous command ({', '.join(step.danger_reasons)}) without {{confirm}}: mark it so readers know",
            )
    children = {section.parent for section in runbook.sections if section.parent is not None}
    for section in runbook.sections:
        # A bold label standing alone often introduces the labels after it ("Common Fixes:"); only
        # real headings can be empty.
        if not section.pseudo and not section.has_content and section.index not in children:
            add(section.line, Level.WARNING, "empty-section", f"section {section.title!r} is empty")
    out.sort(key=lambda m: (m.line, m.level is not Level.ERROR, m.code))
    return out


def lint_many(
    runbooks: Sequence[Runbook], *, today: date, fillable: Iterable[str] = DEFAULT_FILLABLE
) -> list[LintMessage]:
    """Lint several runbooks, adding an error for each id used by more than one file."""
    fillable = frozenset(fillable)
    out: list[LintMessage] = []
    by_id: dict[str, list[Runbook]] = {}
    for runbook in runbooks:
        by_id.setdefault(runbook.id, []).append(runbook)
        out.extend(lint_runbook(runbook, today=today, fillable=fillable))
    for runbook_id, same in by_id.items():
        if len(same) > 1:
            names = ", ".join(_name(r) for r in same)
            for runbook in same:
                out.append(
                    LintMessage(
                        _name(runbook),
                        1,
                        Level.ERROR,
                        "duplicate-id",
                        f"runbook id {runbook_id!r} is used by {len(same)} files: {names}",
                    )
                )
    return out


def has_errors(messages: Iterable[LintMessage]) -> bool:
    """True when any message is an error."""
    return any(m.level is Level.ERROR for m in messages)
