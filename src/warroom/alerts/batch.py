"""The state of one batch in its transaction: routes, silences and windows in force, groups and incidents locked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Table,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction, lazyload

from warroom.alerts import maintenance, silences, store
from warroom.alerts.inhibition import InhibitRule, compile_rules, inhibiting_rule
from warroom.alerts.integrations import Source
from warroom.alerts.models import Alert, AlertGroup
from warroom.alerts.routing import Decision, Router
from warroom.auth.actor import Actor
from warroom.incidents import timeline
from warroom.incidents.models import Incident, Status, TimelineEvent


def router_for(runtime: Any) -> Router:
    """The runtime's compiled routes (compiled once per runtime)."""
    router: Router | None = runtime.extras.get("alerts.router")
    if router is None:
        router = Router(runtime.config.routes, runtime.severities.names())
        runtime.extras["alerts.router"] = router
    return router


def inhibit_rules_for(runtime: Any) -> list[InhibitRule]:
    """The runtime's compiled inhibition rules."""
    rules: list[InhibitRule] | None = runtime.extras.get("alerts.inhibit")
    if rules is None:
        rules = compile_rules(runtime.config.inhibit)
        runtime.extras["alerts.inhibit"] = rules
    return rules


class Batch:
    """Per-transaction caches: routes, silences and windows in force, incidents already locked."""

    def __init__(self, session: Session, runtime: Any, now: datetime) -> None:
        self.session = session
        self.runtime = runtime
        self.now = now
        self.router = router_for(runtime)
        self.rules = inhibit_rules_for(runtime)
        self._silences: list[silences.ActiveSilence] | None = None
        self._windows: dict[str, int] | None = None
        self._incidents: dict[int, Incident] = {}
        self._states: dict[int, store.IncidentState] = {}
        self._groups: dict[str, store.Group] = {}
        self.resolved: dict[int, tuple[Actor, dict[str, str]]] = {}
        # Incidents whose alerts a sender acknowledged in this batch, and by whom (see the pipeline's `_acknowledge`).
        self.acknowledged: dict[int, Actor] = {}
        self._sender_acknowledged: dict[int, bool] = {}
        self.statuses: dict[int, str] = {}
        self.source_resolved = False
        self.savepoint: SessionTransaction | None = None  # taken before new alerts are placed (PostgreSQL)
        self.postgres = session.get_bind().dialect.name == "postgresql"
        # alert_attached and alert_resolved events, written in bulk: flushed before any other timeline write.
        self.events = timeline.QuietEvents(session)

    def decide(self, labels: dict[str, str], integration: Source) -> Decision:
        return self.router.decide_cached(labels, integration.service, integration.severity)

    def suppression(self, alert: store.AlertRow) -> str | None:
        """Why this firing alert must open no incident, or None."""
        labels = dict(alert.labels)
        if alert.service:
            labels.setdefault("service", alert.service)
        if self._silences is None:
            self._silences = silences.active(self.session, self.now)
        for silence in self._silences:
            if silence.matches(labels):
                return f"silence:{silence.id}"
        if alert.service:
            if self._windows is None:
                self._windows = maintenance.active_by_service(self.session, self.now)
            window = self._windows.get(alert.service)
            if window is not None:
                return f"maintenance:{window}"
        if self.rules:
            firing = self.session.scalars(
                select(Alert.labels).where(Alert.status == "firing", Alert.id != alert.id)
            ).all()
            rule = inhibiting_rule(self.rules, alert.labels, firing)
            if rule is not None:
                return f"inhibit:{rule}"
        return None

    def status_of(self, number: int) -> str:
        """An incident's status: from the incidents this batch locked, else as read at its start."""
        locked = self._incidents.get(number) or self._states.get(number)
        if locked is not None:
            return locked.status
        return self.statuses.get(number, Status.RESOLVED.value)

    def state(self, number: int) -> store.IncidentState | None:
        """The incident's id, status and severity, locked for this transaction (read once, without the ORM)."""
        found: store.IncidentState | None = self._incidents.get(number) or self._states.get(number)
        if found is None:
            self._lock_incidents([number])
            found = self._states.get(number)
        return found

    def incident(self, number: int) -> Incident | None:
        """The incident as an ORM object, to change it (locked first)."""
        found = self._incidents.get(number)
        if found is None:
            if self.state(number) is None:
                return None
            found = self.session.get(Incident, number, options=[lazyload(Incident.service_links)])
            if found is None:
                return None
            self._incidents[number] = found
        return found

    def acknowledged_by_senders_only(self, number: int) -> bool:
        """True when senders (integrations), not a person or warroom, acknowledged the incident."""
        found = self._sender_acknowledged.get(number)
        if found is None:
            kind = self.session.scalar(
                select(TimelineEvent.actor_kind)
                .where(TimelineEvent.incident_id == number, TimelineEvent.kind == "acknowledged")
                .order_by(TimelineEvent.id.desc())
                .limit(1)
            )
            found = self._sender_acknowledged[number] = kind == "integration"
        return found

    def adopt(self, incident: Incident) -> None:
        """An incident this transaction created or changed through the ORM: read its state from it from now on."""
        self._incidents[incident.id] = incident

    def _lock_incidents(self, numbers: Sequence[int]) -> None:
        query = store.lock_incidents_query(self.postgres)
        for start in range(0, len(numbers), 500):
            for number, status, severity in self.session.execute(
                query, {"numbers": list(numbers[start : start + 500])}
            ):
                self._states[number] = store.LockedIncident(number, status, severity)

    def _lock_groups(self, keys: Sequence[str]) -> None:
        query = store.lock_groups_query(self.postgres)
        for start in range(0, len(keys), 500):
            for key, incident_id in self.session.execute(query, {"keys": list(keys[start : start + 500])}):
                self._groups[key] = store.Group(key, incident_id)

    def preload(self, groups: dict[str, str], incident_ids: set[int]) -> None:
        """Lock every group row this batch may need (creating the new ones), then their incidents: a few
        statements, not one per alert. Sorted, so that two writers take the same locks in the same order."""
        if groups:
            keys = sorted(key for key in groups if key not in self._groups)
            self._lock_groups(keys)
            missing = [key for key in keys if key not in self._groups]
            if missing:
                table = cast(Table, AlertGroup.__table__)
                insert = postgresql.insert(table) if self.postgres else sqlite.insert(table)
                rows = [
                    {"group_key": key, "route": groups[key], "incident_id": None, "updated_at": self.now}
                    for key in missing
                ]
                # Another writer may create the same group at once: the unique key keeps one, both lock it.
                self.session.execute(insert.on_conflict_do_nothing(index_elements=["group_key"]), rows)
                self._lock_groups(missing)
            for key in groups:
                number = self._groups[key].incident_id
                if number is not None:
                    incident_ids.add(number)
        wanted = sorted(i for i in incident_ids if i not in self._incidents and i not in self._states)
        self._lock_incidents(wanted)

    def group(self, key: str, route: str) -> store.Group:
        """The group row for `key`, created if new and locked: one incident per group even under concurrency."""
        found = self._groups.get(key)
        if found is None:
            self.preload({key: route}, set())
            found = self._groups[key]
        return found

    def open_group(self, group: store.Group, incident_id: int) -> None:
        """Alerts of `group` go to `incident_id` from now on."""
        group.incident_id = incident_id
        table = cast(Table, AlertGroup.__table__)
        self.session.execute(
            update(table).where(table.c.group_key == group.key).values(incident_id=incident_id, updated_at=self.now)
        )
