"""What a parsed runbook is: front matter, sections, steps and the problems found while reading it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any


class Role(StrEnum):
    """What a section is for, recognised from its heading across wordings."""

    DETECTION = "detection"
    ASSESSMENT = "assessment"
    MITIGATION = "mitigation"
    DIAGNOSIS = "diagnosis"
    RESOLUTION = "resolution"
    RECOVERY = "recovery"
    VERIFICATION = "verification"
    COMMUNICATION = "communication"
    POST_INCIDENT = "post_incident"
    ESCALATION = "escalation"


class StepKind(StrEnum):
    """A command runs in bash; a person confirms a manual step or a check; a reference is only shown."""

    COMMAND = "command"
    MANUAL = "manual"
    CHECK = "check"
    REFERENCE = "reference"


class Level(StrEnum):
    """Errors make `lint` fail; warnings are advice."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """Something wrong or doubtful in a runbook file, with the line it is on (1-based)."""

    line: int
    level: Level
    code: str
    message: str


@dataclass(frozen=True)
class Param:
    """A declared placeholder: where its value may come from and what it must look like."""

    name: str
    description: str = ""
    default: str | None = None
    pattern: str | None = None


@dataclass
class FrontMatter:
    """The optional YAML header of a runbook."""

    id: str | None = None
    title: str | None = None
    services: list[str] = field(default_factory=list)
    match: list[str] = field(default_factory=list)
    severity: str | None = None
    owner: str | None = None
    last_reviewed: date | None = None
    review_every: timedelta | None = None
    params: list[Param] = field(default_factory=list)
    required_sections: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    present: bool = False


@dataclass(frozen=True)
class StepOptions:
    """Options from the fence info string: ```` ```bash {timeout=60 confirm auto verify} ````."""

    timeout: float | None = None
    confirm: bool = False
    auto: bool = False
    verify: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The options as plain JSON-friendly values."""
        return {"timeout": self.timeout, "confirm": self.confirm, "auto": self.auto, "verify": self.verify}


@dataclass(frozen=True)
class PlaceholderRef:
    """One placeholder occurrence in a command: its normalised name, the text as written and its offsets."""

    name: str
    text: str
    start: int
    end: int


@dataclass
class Section:
    """A heading (or a bold label standing alone as a heading) and where it sits in the outline."""

    index: int
    title: str
    heading: str
    level: int
    path: tuple[str, ...]
    line: int
    role: Role | None
    own_role: Role | None
    parent: int | None
    pseudo: bool = False
    text: list[str] = field(default_factory=list)
    has_content: bool = False

    @property
    def path_str(self) -> str:
        """The heading path joined the way people read it: `A › B › C`."""
        return " › ".join(self.path)


@dataclass
class Step:
    """One thing to do: a command, a manual step, a checklist item, or a reference block shown but not run."""

    index: int
    id: str
    kind: StepKind
    section: int | None
    section_path: str
    role: Role | None
    line: int
    command: str | None = None
    text: str = ""
    description: str = ""
    label: str = ""
    language: str = ""
    expected_output: str | None = None
    placeholders: tuple[str, ...] = ()
    refs: tuple[PlaceholderRef, ...] = ()
    dangerous: bool = False
    danger_reasons: tuple[str, ...] = ()
    options: StepOptions = StepOptions()  # frozen: one shared instance, not one per manual or check step
    checked: bool = False

    @property
    def runnable(self) -> bool:
        """True for steps that run a command in bash."""
        return self.kind is StepKind.COMMAND

    @cached_property
    def unsafe(self) -> list[str]:
        """Why placeholders of this command can never be filled safely (arithmetic, eval, `-c`...); empty when
        none sits where bash reads a value again as code. Kept once computed: lint and every start ask."""
        if self.command is None or not self.refs:
            return []
        from warroom.runbooks.placeholders import unsafe_reasons  # placeholders reads this module

        return unsafe_reasons(self.command, self.refs)

    @property
    def title(self) -> str:
        """A one-line name for the step: its description, its label, or its text."""
        for candidate in (self.description, self.label, self.text, self.command or ""):
            if candidate.strip():
                return candidate.strip().splitlines()[0]
        return f"step {self.index}"


@dataclass
class Runbook:
    """A parsed runbook file. It always exists, even when the file is broken: see `problems`."""

    id: str
    title: str
    path: Path | None
    front: FrontMatter
    sections: list[Section]
    steps: list[Step]
    problems: list[Problem]
    symptoms: list[str] = field(default_factory=list)

    @property
    def params(self) -> dict[str, Param]:
        """Declared params by name."""
        return {param.name: param for param in self.front.params}

    @property
    def services(self) -> list[str]:
        """Services this runbook is for (front matter)."""
        return self.front.services

    def step(self, index: int) -> Step:
        """The step with this 1-based index; raises KeyError when there is none."""
        if 1 <= index <= len(self.steps):
            return self.steps[index - 1]
        raise KeyError(index)

    def step_by_id(self, step_id: str) -> Step | None:
        """The step with this stable id, or None."""
        for step in self.steps:
            if step.id == step_id:
                return step
        return None

    @property
    def errors(self) -> list[Problem]:
        """Problems at error level."""
        return [p for p in self.problems if p.level is Level.ERROR]
