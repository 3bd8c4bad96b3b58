"""What the Alerts page shows: firing alerts grouped as the alerts domain groups them, silences, maintenance windows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from warroom.alerts import maintenance, queries, silences
from warroom.alerts.matchers import Matcher
from warroom.alerts.models import Alert, MaintenanceWindow, Silence

SHOWN = 500  # firing alerts on one page; more are counted, not listed


@dataclass
class AlertGroup:
    """Firing alerts with one group key (route + group-by values): they attach to one incident."""

    group_key: str
    route: str
    incident_id: int | None
    alerts: list[Alert] = field(default_factory=list)


@dataclass
class MaintenanceRow:
    """A window with its current (or next) occurrence and whether it is in force."""

    window: MaintenanceWindow
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool


@dataclass
class AlertsPage:
    """Everything the page lists."""

    groups: list[AlertGroup]
    held_back: list[Alert]
    more: bool
    silences: list[Silence]
    windows: list[MaintenanceRow]
    integrations: dict[int, str]

    @property
    def firing_count(self) -> int:
        """Firing alerts listed in groups (held-back ones not counted)."""
        return sum(len(group.alerts) for group in self.groups)


def alerts_page(session: Session, now: datetime) -> AlertsPage:
    """Firing alerts (grouped; held-back ones apart), silences in force or pending, current and upcoming windows."""
    firing, cursor = queries.list_alerts(session, queries.AlertFilters(status="firing"), limit=SHOWN)
    groups: dict[str, AlertGroup] = {}
    held_back: list[Alert] = []
    for alert in firing:
        if alert.suppressed_by is not None:
            held_back.append(alert)
            continue
        group = groups.setdefault(alert.group_key, AlertGroup(alert.group_key, alert.route, alert.incident_id))
        group.incident_id = group.incident_id or alert.incident_id
        group.alerts.append(alert)
    windows = []
    for window in maintenance.list_windows(session, now=now):
        occurrence = maintenance.current_or_next(window, now)
        start, end = occurrence if occurrence else (None, None)
        windows.append(MaintenanceRow(window, start, end, maintenance.is_active(window, now)))
    return AlertsPage(
        groups=sorted(groups.values(), key=lambda g: (g.incident_id is None, -(g.incident_id or 0), g.group_key)),
        held_back=held_back,
        more=cursor is not None,
        silences=silences.list_silences(session, now=now),
        windows=windows,
        integrations=queries.integration_names(session),
    )


def matchers_of(alert: Alert) -> str:
    """The alert's labels as equality matchers, one a line (the silence form starts from them)."""
    return "\n".join(str(Matcher.create(name, "=", value)) for name, value in sorted(alert.labels.items()))


def matcher_lines(text: str) -> list[str]:
    """The silence form's matchers: one a line (blank lines ignored)."""
    return [line.strip() for line in text.splitlines() if line.strip()]
