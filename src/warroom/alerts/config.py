"""The alerts sections of warroom.yaml: `routes:`, `inhibit:` and `integrations:`, validated with Pydantic."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from warroom import configcheck
from warroom.alerts.matchers import parse_matchers
from warroom.errors import InvalidInput
from warroom.timeparse import parse_duration

INTEGRATION_TYPES = ("alertmanager", "grafana", "pagerduty", "generic", "monitor")
SEVERITY_NAMES = ("P0", "P1", "P2", "P3", "P4")
DEFAULT_SEVERITY_MAP: dict[str, str] = {
    "critical": "P1",
    "error": "P2",
    "high": "P2",
    "warning": "P3",
    "info": "P4",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_matchers(value: list[str]) -> list[str]:
    try:
        parse_matchers(value)
    except InvalidInput as exc:
        raise ValueError(exc.detail) from None
    return value


class RouteConfig(_Strict):
    """One routing rule; routes are tried in order and the first match wins unless it says `continue`."""

    name: str = Field(min_length=1, max_length=100)
    match: list[str] = Field(default_factory=list, description='Matchers, e.g. ["service=api", "env=~\\"prod.*\\""].')
    continue_: bool = Field(default=False, alias="continue")
    service: str | None = None
    severity: str | None = Field(default=None, description="A fixed severity (P0–P4) for every alert of the route.")
    severity_map: dict[str, str] = Field(default_factory=dict, description="Sender severity → P0–P4 (over defaults).")
    severity_label: str = "severity"
    group_by: list[str] = Field(default_factory=lambda: ["alertname"])
    policy: str | None = None
    category: str | None = None
    runbook: str | None = Field(default=None, description="A runbook hint passed to the incident.")
    auto_runbook: bool = False
    resolve_after: str = "5m"

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("match")
    @classmethod
    def _matchers(cls, value: list[str]) -> list[str]:
        return _check_matchers(value)

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str | None) -> str | None:
        if value is not None and value.strip().upper() not in SEVERITY_NAMES:
            raise ValueError(f"unknown severity {value!r}: expected one of {', '.join(SEVERITY_NAMES)}")
        return value.strip().upper() if value else None

    @field_validator("severity_map")
    @classmethod
    def _severity_map(cls, value: dict[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, target in value.items():
            if str(target).strip().upper() not in SEVERITY_NAMES:
                raise ValueError(f"{key}: unknown severity {target!r}: expected one of {', '.join(SEVERITY_NAMES)}")
            out[str(key).strip().lower()] = str(target).strip().upper()
        return out

    @field_validator("resolve_after")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class InhibitRuleConfig(_Strict):
    """While an alert matching `source` fires, alerts matching `target` with equal `equal` labels are suppressed."""

    name: str | None = None
    source: list[str] = Field(min_length=1)
    target: list[str] = Field(min_length=1)
    equal: list[str] = Field(default_factory=list)

    @field_validator("source", "target")
    @classmethod
    def _matchers(cls, value: list[str]) -> list[str]:
        return _check_matchers(value)


class IntegrationConfig(_Strict):
    """An integration declared in warroom.yaml; its key comes from an environment variable, never the file."""

    name: str = Field(min_length=1, max_length=100)
    type: Literal["alertmanager", "grafana", "pagerduty", "generic", "monitor"]
    key_env: str = Field(min_length=1, description="Environment variable holding the integration key.")
    service: str | None = None
    severity: str | None = None
    mapping: dict[str, Any] = Field(default_factory=dict, description="generic only: field → dotted path.")

    @model_validator(mode="after")
    def _check(self) -> IntegrationConfig:
        if self.severity is not None and self.severity.strip().upper() not in SEVERITY_NAMES:
            raise ValueError(f"unknown severity {self.severity!r}: expected one of {', '.join(SEVERITY_NAMES)}")
        return self


# This domain's cross-checks of its sections, registered beside them (config.py composes the file from these).
configcheck.register("alerts", "warroom.alerts.config_checks:check_alerts_config")
