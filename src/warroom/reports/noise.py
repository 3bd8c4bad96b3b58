"""Alert noise: alerts per incident, the noisiest alert names, flapping, and alerts that opened no incident.

Flapping: an alert that fired, resolved, and fired again within `flap_minutes` (30 by default) — on the
timeline, an `alert_resolved` followed by an `alert_refired` of the same alert no later than that."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Container
from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select

from warroom.alerts.models import Alert
from warroom.incidents.models import Incident, TimelineEvent
from warroom.reports import figures
from warroom.reports.drills import is_drill_filter
from warroom.reports.period import ReportQuery
from warroom.reports.reads import Reads
from warroom.reports.sql import epoch

TOP = 10
FLAP_KINDS = ("alert_resolved", "alert_refired")


def _alert_name() -> Any:
    return func.coalesce(Alert.labels["alertname"].as_string(), Alert.summary, Alert.fingerprint)


def _alerts_in_period(query: ReportQuery) -> Any:
    """Alerts first seen in the period, those of drills left out unless asked for. The drills are a small set
    the database builds once: no lookup into the incidents table per alert (issue 17)."""
    seen = and_(Alert.first_seen_at >= query.since, Alert.first_seen_at < query.until)
    if query.include_drills:
        return seen
    drills = select(Incident.id).where(is_drill_filter())
    return and_(seen, or_(Alert.incident_id.is_(None), Alert.incident_id.not_in(drills)))


def statements(query: ReportQuery, *, sqlite: bool) -> dict[str, Any]:
    """The section's reads by name (each read once, perhaps ahead: reads.py). Their columns are SQL
    expressions (JSON paths, aggregates), converted where they are read."""
    name = _alert_name().label("name")
    # The reason an alert opened no incident (NULL for those that did): totals, the noisiest names and the
    # alerts without an incident all come from this one pass over the period's alerts (three passes were a
    # sixth of a whole-period report on SQLite, each parsing every alert's labels).
    reason = case((Alert.incident_id.is_(None), func.coalesce(Alert.suppressed_by, "none")), else_=None)
    return {
        "alerts": select(name, reason, func.count(), func.sum(Alert.received), func.count(Alert.incident_id))
        .select_from(Alert)
        .where(_alerts_in_period(query))
        .group_by(name, reason),
        # The database counts per incident from its index on alerts.incident_id; the period's incidents are
        # picked in Python rather than by a join (one lookup into the incidents table per alert).
        "alerts_per_incident": select(Alert.incident_id, func.count())
        .where(Alert.incident_id.is_not(None))
        .group_by(Alert.incident_id),
        "flapping": _flapping_statement(query, sqlite=sqlite),
    }


def _per_incident(rows: list[Any], incidents: Container[int]) -> dict[str, Any]:
    """Alerts per incident of the period that had any, as a histogram (how many incidents had n alerts)."""
    per = Counter(n for incident_id, n in rows if incident_id in incidents)
    out = figures.summary_of_histogram([(float(n), int(k)) for n, k in sorted(per.items())])
    out["incidents"] = out.pop("count")
    return out


def _noisiest(rows: list[Any]) -> list[dict[str, Any]]:
    """The TOP names with the most alerts (then the most received, then by name), from (name, reason, alerts,
    received, with an incident) rows."""
    per_name: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for name, _, count, received, attached in rows:
        totals = per_name[str(name)]
        totals[0] += int(count)
        totals[1] += int(received or 0)
        totals[2] += int(attached)
    top = sorted(per_name.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))[:TOP]
    return [
        {"name": n, "alerts": count, "received": received, "with_incident": attached}
        for n, (count, received, attached) in top
    ]


def _no_incident(rows: list[Any]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for _, why, count, _, _ in rows:
        if why is None:
            continue  # it opened an incident
        # "silence:3", "maintenance:2", "inhibit:db-down" → silenced, maintenance, inhibited; none: resolved
        # before it ever fired here, or its incident was deleted.
        kind = {"silence": "silenced", "maintenance": "maintenance", "inhibit": "inhibited"}.get(
            str(why).split(":", 1)[0], "other"
        )
        out[kind] += int(count)
    return {k: out.get(k, 0) for k in ("silenced", "maintenance", "inhibited", "other")}


def _flapping_statement(query: ReportQuery, *, sqlite: bool) -> Any:
    statement = (
        select(
            TimelineEvent.data["alert"].as_string(),
            TimelineEvent.kind,
            epoch(TimelineEvent.at, sqlite=sqlite),
            TimelineEvent.message,
        )
        .join(Incident, Incident.id == TimelineEvent.incident_id)
        .where(
            TimelineEvent.kind.in_(FLAP_KINDS),
            TimelineEvent.at >= query.since,
            TimelineEvent.at < query.until,
        )
        .order_by(TimelineEvent.at, TimelineEvent.id)
    )
    return statement if query.include_drills else statement.where(not_(is_drill_filter()))


def _flapping(rows: list[Any], query: ReportQuery) -> dict[str, Any]:
    window = query.flap_minutes * 60.0
    last_resolved: dict[str, float] = {}
    flaps: dict[str, int] = defaultdict(int)
    names: dict[str, str] = {}
    for raw_alert, kind, at, message in rows:
        if raw_alert is None:
            continue
        alert = str(raw_alert)
        if kind == "alert_resolved":
            last_resolved[alert] = float(at)
        elif alert in last_resolved and float(at) - last_resolved.pop(alert) <= window + 1e-3:
            flaps[alert] += 1
            names[alert] = message
    top = sorted(flaps.items(), key=lambda kv: (-kv[1], names[kv[0]], kv[0]))[:TOP]
    return {
        "window_minutes": query.flap_minutes,
        "alerts": len(flaps),
        "flaps": sum(flaps.values()),
        "top": [{"alert": int(a) if a.isdigit() else a, "name": names[a], "flaps": n} for a, n in top],
    }


def noise(reads: Reads, query: ReportQuery, incidents: Container[int]) -> dict[str, Any]:
    """The noise section over the period (`incidents`: the ids of its incidents); pages never acknowledged are
    added from the on-call load."""
    reading = statements(query, sqlite=reads.sqlite)

    def rows(name: str) -> list[Any]:
        return reads.rows(name, reading[name])

    alerts = rows("alerts")
    no_incident = _no_incident(alerts)
    return {
        "alerts": sum(int(row[2]) for row in alerts),
        "received": sum(int(row[3] or 0) for row in alerts),
        "alerts_per_incident": _per_incident(rows("alerts_per_incident"), incidents),
        "noisiest": _noisiest(alerts),
        "flapping": _flapping(rows("flapping"), query),
        "no_incident": {"total": sum(no_incident.values()), **no_incident},
    }
