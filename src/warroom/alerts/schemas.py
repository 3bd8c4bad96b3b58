"""What goes in and out of the alerts API, and the normalized alert every format produces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from warroom.alerts.models import Alert, Integration, MaintenanceWindow, Silence


@dataclass(frozen=True)
class IncomingAlert:
    """One alert as a sender reported it, whatever its format."""

    fingerprint: str | None  # None: computed from the sorted labels, the same way every time
    status: str  # "firing" | "resolved"
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str | None
    raw: dict[str, Any]  # the original payload piece, kept with the alert
    # PagerDuty's acknowledge event: the sender says someone is on it (not a status of the alert itself).
    acknowledge: bool = False


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IntegrationCreate(_In):
    """Create an integration; its key is in the answer only."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    type: str = Field(examples=["alertmanager"])
    service: str | None = Field(default=None, max_length=100)
    severity: str | None = Field(default=None, max_length=10)
    mapping: dict[str, Any] = Field(default_factory=dict, description="generic: field → dotted path.")


class IntegrationRead(BaseModel):
    """An integration without its key."""

    id: int
    name: str
    type: str
    service: str | None
    severity: str | None
    mapping: dict[str, Any]
    source: str
    intake_url: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None

    @classmethod
    def of(cls, integration: Integration) -> IntegrationRead:
        """Read an ORM integration."""
        return cls(
            id=integration.id,
            name=integration.name,
            type=integration.type,
            service=integration.service,
            severity=integration.severity,
            mapping=(integration.config or {}).get("mapping", {}),
            source=integration.source,
            intake_url="/v2/enqueue" if integration.type == "pagerduty" else "/api/v1/intake/<key>",
            created_at=integration.created_at,
            created_by=integration.created_by,
            revoked_at=integration.revoked_at,
        )


class IntegrationCreated(IntegrationRead):
    """A new (or re-keyed) integration with its key, shown this once."""

    key: str


class AlertRead(BaseModel):
    """An alert as stored."""

    id: int
    integration: str
    fingerprint: str
    status: str
    summary: str
    severity: str
    service: str | None
    route: str
    group_key: str
    incident: int | None
    suppressed_by: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str | None
    starts_at: datetime
    ends_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    received: int
    raw: dict[str, Any] | None = None

    @classmethod
    def of(cls, alert: Alert, integration_name: str, *, with_raw: bool = False) -> AlertRead:
        """Read an ORM alert."""
        return cls(
            id=alert.id,
            integration=integration_name,
            fingerprint=alert.fingerprint,
            status=alert.status,
            summary=alert.summary,
            severity=alert.severity,
            service=alert.service,
            route=alert.route,
            group_key=alert.group_key,
            incident=alert.incident_id,
            suppressed_by=alert.suppressed_by,
            labels=alert.labels or {},
            annotations=alert.annotations or {},
            generator_url=alert.generator_url,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            first_seen_at=alert.first_seen_at,
            last_seen_at=alert.last_seen_at,
            resolved_at=alert.resolved_at,
            received=alert.received,
            raw=alert.raw if with_raw else None,
        )


class AlertPage(BaseModel):
    """A page of alerts, newest first."""

    items: list[AlertRead]
    next_cursor: str | None


class TestAlert(_In):
    """`warroom alert send`: an alert sent as if by the integration."""

    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    status: str = Field(default="firing", pattern="^(firing|resolved)$")
    fingerprint: str | None = Field(default=None, max_length=255)


class RouteTest(_In):
    """`warroom route test`: labels to route."""

    labels: dict[str, str]


class SilenceCreate(_In):
    """A silence: matchers and a duration or an end."""

    matchers: list[str] = Field(min_length=1, max_length=50)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    duration: str | None = Field(default=None, examples=["2h"])
    comment: str = Field(default="", max_length=10_000)


class SilenceRead(BaseModel):
    """A silence and whether it is in force now."""

    id: int
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
    created_at: datetime
    state: str  # pending | active | expired

    @classmethod
    def of(cls, silence: Silence, now: datetime) -> SilenceRead:
        """Read an ORM silence as of `now`."""
        if silence.ends_at <= now:
            state = "expired"
        elif silence.starts_at > now:
            state = "pending"
        else:
            state = "active"
        return cls(
            id=silence.id,
            matchers=list(silence.matchers),
            starts_at=silence.starts_at,
            ends_at=silence.ends_at,
            comment=silence.comment,
            created_by=silence.created_by,
            created_at=silence.created_at,
            state=state,
        )


class MaintenanceCreate(_In):
    """A maintenance window for a service."""

    service: str = Field(min_length=1, max_length=100)
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    duration: str | None = None
    weekly: bool = False
    comment: str = Field(default="", max_length=10_000)


class MaintenanceRead(BaseModel):
    """A maintenance window, whether it is in force now and when it next starts."""

    id: int
    service: str
    starts_at: datetime
    ends_at: datetime
    weekly: bool
    comment: str
    created_by: str
    created_at: datetime
    cancelled_at: datetime | None
    active: bool
    next_start: datetime | None
    next_end: datetime | None

    @classmethod
    def of(cls, window: MaintenanceWindow, now: datetime) -> MaintenanceRead:
        """Read an ORM window as of `now`."""
        from warroom.alerts.maintenance import current_or_next

        occurrence = current_or_next(window, now)
        active = occurrence is not None and occurrence[0] <= now < occurrence[1]
        return cls(
            id=window.id,
            service=window.service,
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            weekly=window.weekly,
            comment=window.comment,
            created_by=window.created_by,
            created_at=window.created_at,
            cancelled_at=window.cancelled_at,
            active=active,
            next_start=occurrence[0] if occurrence else None,
            next_end=occurrence[1] if occurrence else None,
        )
