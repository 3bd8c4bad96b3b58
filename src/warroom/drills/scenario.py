"""A drill's scenario: what to inject (alerts) or break (a local command, CLI only), what to expect, the targets.

The API takes `ScenarioIn` (alerts only: `extra="forbid"` refuses a `break` key, so nothing from the network
is ever run); `warroom drill run FILE` reads `Scenario`, which may add a `break` command from the operator's
own local file, run by the CLI on the operator's machine as an argv list, never through a shell.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from warroom import yamlerrors
from warroom.errors import InvalidInput
from warroom.timeparse import parse_duration

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
LABEL = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_TIMEOUT = timedelta(hours=24)


def _duration(value: Any, *, at_most: timedelta | None = None) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 1h")
    delta = parse_duration(value)
    if delta <= timedelta(0):
        raise ValueError("must be longer than 0 s")
    if at_most is not None and delta > at_most:
        raise ValueError(f"at most {int(at_most.total_seconds() // 3600)} h")
    return str(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DrillAlert(_Strict):
    """One alert to inject, as the generic webhook format has it."""

    labels: dict[str, str] = Field(min_length=1, max_length=50, description="Must name at least `alertname`.")
    annotations: dict[str, str] = Field(default_factory=dict, max_length=50)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not key or len(key) > 100 or not key.replace("_", "a").isalnum() or key[0].isdigit():
                raise ValueError(f"label name {key[:100]!r} must be letters, digits and _ (not first a digit)")
            if len(text) > 1000:
                raise ValueError(f"label {key!r} is longer than 1000 characters")
        if "alertname" not in value:
            raise ValueError("an alert needs an `alertname` label")
        return value

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not key or len(key) > 100 or len(text) > 10_000:
                raise ValueError("annotation names are 1-100 characters, values at most 10,000")
        return value


class Targets(_Strict):
    """What the drill must achieve; absent ones come from the incident's severity."""

    detect: str | None = Field(default=None, description="From the break (the drill's start) to the incident.")
    acknowledge: str | None = Field(default=None, description="From the incident to its acknowledgement.")
    recover: str | None = Field(default=None, description="From the break to the incident's resolution.")

    @field_validator("detect", "acknowledge", "recover", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return None if value is None else _duration(value)


class ScenarioIn(_Strict):
    """A drill as the API takes it: alerts to inject and what to expect (no command: see `warroom drill run`)."""

    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    description: str = Field(default="", max_length=2000)
    services: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="The drilled services: the first new incident of one of them during the drill is the drill's.",
    )
    integration: str | None = Field(
        default=None,
        max_length=100,
        pattern=NAME_PATTERN,
        description="Inject through this integration (default: the built-in `drills` one).",
    )
    alerts: list[DrillAlert] = Field(default_factory=list, max_length=20)
    runbook: str | None = Field(default=None, max_length=200, description="The runbook the drill expects to run.")
    policy: str | None = Field(default=None, max_length=100, description="The policy the drill expects to page.")
    targets: Targets = Field(default_factory=Targets)
    timeout: str = Field(default="30m", description="The drill ends (timed out) after this long; at most 24 h.")

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[str]) -> list[str]:
        cleaned = [s.strip() for s in value]
        if any(not s or len(s) > 100 for s in cleaned):
            raise ValueError("each service is 1-100 characters")
        return list(dict.fromkeys(cleaned))

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> Any:
        return _duration(value, at_most=MAX_TIMEOUT)

    @model_validator(mode="after")
    def _something_to_drill(self) -> ScenarioIn:
        if not self.alerts and not self.services and not getattr(self, "break_", None):
            raise ValueError("a scenario needs `alerts` to inject, or `services` (with a `break` command in a file)")
        return self

    def timeout_delta(self) -> timedelta:
        """The timeout as a timedelta."""
        return parse_duration(self.timeout)

    def api_body(self) -> dict[str, Any]:
        """What `warroom drill run` sends to the API: everything but the break command."""
        return ScenarioIn.model_validate(self.model_dump(exclude={"break_"})).model_dump(mode="json")


class BreakCommand(_Strict):
    """A command that breaks a local service, from the operator's scenario file only."""

    argv: list[str] = Field(min_length=1, max_length=100, description="Program and arguments; run without a shell.")
    timeout: str = Field(default="30s", description="At most this long; then the drill stops.")

    @field_validator("argv")
    @classmethod
    def _argv(cls, value: list[str]) -> list[str]:
        if not value[0].strip():
            raise ValueError("the program (argv[0]) is empty")
        if any("\0" in part for part in value):
            raise ValueError("an argument holds a NUL character")
        return value

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> Any:
        return _duration(value, at_most=timedelta(hours=1))


class Scenario(ScenarioIn):
    """A scenario file: `ScenarioIn` plus an optional `break` command; one of `alerts` or `break` is required."""

    break_: BreakCommand | None = Field(default=None, alias="break")

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_way_in(self) -> Scenario:
        if self.break_ is not None and self.alerts:
            raise ValueError("give `alerts` or a `break` command, not both")
        if self.break_ is not None and not self.services:
            raise ValueError("a `break` command needs `services`: the drilled services whose incident is awaited")
        return self


def field_of(loc: tuple[int | str, ...]) -> str:
    """A validation error's location as a dotted field name (`alerts.0.labels`)."""
    return ".".join(str(part) for part in loc) or "scenario"


def parse(data: Any, source: str) -> Scenario:
    """Validate a scenario's data; InvalidInput naming the field (and the file) on the first problem."""
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: a scenario is a mapping (name:, alerts: or break:, ...)", field="scenario")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = field_of(tuple(first["loc"]))
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{source}: {where}: {message}", field=where) from None


def load(path: Path) -> Scenario:
    """Read and validate a scenario file (YAML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidInput(f"cannot read the scenario {path}: {reason}", field="scenario") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line, message = yamlerrors.describe(exc)
        raise InvalidInput(f"{path}{f':{line}' if line else ''}: {message}", field="scenario") from None
    return parse(data, str(path))
