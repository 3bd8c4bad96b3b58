"""The `postmortems:` section of warroom.yaml: the team's template, which severities need one, and by when."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from warroom import configcheck
from warroom.timeparse import parse_duration


class PostmortemsConfig(BaseModel):
    """Post-mortems: the template they are drafted from, the severities that require one, the deadline."""

    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(
        default=None,
        description="A Jinja2 Markdown template replacing the built-in one; relative to the config file's folder.",
    )
    required_for: list[str] = Field(
        default_factory=lambda: ["P0", "P1"], description="Severities whose incidents need a post-mortem."
    )
    due_after: str = Field(default="48h", description="How long after resolve a required post-mortem is due.")

    @field_validator("due_after")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration(value).total_seconds() <= 0:
            raise ValueError("due_after must be positive")
        return value

    @field_validator("required_for")
    @classmethod
    def _severities(cls, value: list[str]) -> list[str]:
        return [v.strip().upper() for v in value if v.strip()]


# This domain's checks of its section, registered beside it (config.py composes the file from these).
configcheck.register("postmortems", "warroom.postmortems.config_checks:check_postmortems")
configcheck.register("postmortems", "warroom.postmortems.config_checks:review_postmortems", review=True)
