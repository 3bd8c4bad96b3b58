"""The `runbooks:` section of warroom.yaml: where the runbook folders are and how steps run on the server."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from warroom import configcheck
from warroom.timeparse import parse_duration


class RunbooksConfig(BaseModel):
    """Runbook folders (searched recursively) and the limits of steps run by the server."""

    model_config = ConfigDict(extra="forbid")

    folders: list[str] = Field(
        default_factory=list,
        description="Folders (or files) with runbooks; relative paths are taken from the config file's folder.",
    )
    default_timeout: str = Field(default="5m", description="How long a step may run unless its fence says.")
    workdir: str | None = Field(
        default=None, description="Folder steps run in on the server (default: the server's current folder)."
    )

    @field_validator("default_timeout")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration(value).total_seconds() <= 0:
            raise ValueError("default_timeout must be positive")
        return value

    @field_validator("folders")
    @classmethod
    def _folders(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value]
        if any(not v for v in cleaned):
            raise ValueError("a runbook folder cannot be empty")
        return cleaned


# This domain's cross-checks of its sections, registered beside them (config.py composes the file from these).
configcheck.register("runbooks", "warroom.runbooks.config_checks:review_runbooks", review=True)
