"""The ingest pipeline: the story of one batch of alerts, from the requests to the incidents.

`ingest_many` reads as the batch goes: each alert gets its fingerprint and its route; the batch's known alerts
are locked and the new ones created (`_store`); the groups and incidents it may touch are locked, in one order
(`Batch.preload`); each alert is then applied: a repeat, a re-fire, a resolve or an acknowledgement, and a
firing alert is placed into its group's incident, opening one if needed, unless a silence, a maintenance
window or an inhibition holds it back (`_place`); what waits for the whole batch comes last (`_finish`:
incidents whose alerts resolved, acknowledgements, alerts an inhibition released). The caller commits.

Lock order, the same everywhere so that two writers never wait on each other in a circle: alert rows, then
group rows (sorted by key), then incidents. The SQL (both backends) is in `store.py`, the batch's caches and
locks in `batch.py`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, SessionTransaction

from warroom.alerts import store
from warroom.alerts.batch import Batch, inhibit_rules_for
from warroom.alerts.integrations import Source, integration_actor
from warroom.alerts.models import Alert, Integration
from warroom.alerts.resolving import AUTO_RESOLVE, person_acknowledged, person_set_severity
from warroom.alerts.routing import Decision, fingerprint_of
from warroom.alerts.schemas import IncomingAlert
from warroom.auth.actor import Actor
from warroom.engine import jobs
from warroom.errors import NotFound
from warroom.incidents import service as incidents
from warroom.incidents.models import Incident, Status


@dataclass
class AlertOutcome:
    """What happened to one incoming alert."""

    alert_id: int
    fingerprint: str
    status: str
    action: str  # created | repeated | refired | resolved | resolve_unknown | resolve_repeated | acknowledged
    incident: int | None
    suppressed_by: str | None


@dataclass
class IngestResult:
    """What happened to the alerts of one request."""

    integration: str
    outcomes: list[AlertOutcome] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        """How many alerts were stored."""
        return len(self.outcomes)

    @property
    def incidents(self) -> list[int]:
        """The incidents the alerts are attached to."""
        return sorted({o.incident for o in self.outcomes if o.incident is not None})

    def as_dict(self) -> dict[str, Any]:
        """The intake answer."""
        return {
            "status": "ok",
            "integration": self.integration,
            "accepted": self.accepted,
            "incidents": self.incidents,
            "alerts": [
                {
                    "id": o.alert_id,
                    "fingerprint": o.fingerprint,
                    "status": o.status,
                    "action": o.action,
                    "incident": o.incident,
                    "suppressed_by": o.suppressed_by,
                }
                for o in self.outcomes
            ],
        }


def ingest_alerts(
    session: Session, runtime: Any, integration: Source, alerts: list[IncomingAlert], *, now: datetime
) -> IngestResult:
    """Store, dedup, route, silence, group; the caller commits."""
    return ingest_many(session, runtime, [(integration, alerts)], now=now)[0]


def ingest_many(
    session: Session,
    runtime: Any,
    batch: Sequence[tuple[Source, list[IncomingAlert]]],
    *,
    now: datetime,
) -> list[IngestResult]:
    """Ingest several requests in one transaction, in order (the intake writer's group commit)."""
    if session.get_bind().dialect.name == "postgresql" and not inhibit_rules_for(runtime):
        # New alerts are inserted at the end, as they finally are (see `_store`). If another writer created one
        # of them meanwhile, the batch is done again from the savepoint taken when they were found missing,
        # inserting them first as SQLite does.
        try:
            return _ingest_many(session, runtime, batch, now=now, insert_last=True)
        except _CreatedMeanwhile as lost:
            lost.savepoint.rollback()
    return _ingest_many(session, runtime, batch, now=now, insert_last=False)


class _CreatedMeanwhile(Exception):
    """Another writer created an alert this batch took for new; `savepoint` is where to go back to."""

    def __init__(self, savepoint: SessionTransaction) -> None:
        super().__init__("an alert of this batch was created by another writer meanwhile")
        self.savepoint = savepoint


def _ingest_many(
    session: Session,
    runtime: Any,
    batch: Sequence[tuple[Source, list[IncomingAlert]]],
    *,
    now: datetime,
    insert_last: bool,
) -> list[IngestResult]:
    ctx = Batch(session, runtime, now)
    flat: list[tuple[int, Source, IncomingAlert, str, Decision]] = []
    for index, (integration, alerts) in enumerate(batch):
        for incoming in alerts:
            fingerprint = incoming.fingerprint or fingerprint_of(incoming.labels)
            if len(fingerprint) > 255:
                fingerprint = hashlib.sha256(fingerprint.encode()).hexdigest()
            flat.append((index, integration, incoming, fingerprint, ctx.decide(incoming.labels, integration)))
    rows, fresh = _store(ctx, flat, insert_last=insert_last)
    ctx.preload(*_needed(ctx, flat, rows, fresh))
    results = [IngestResult(integration.name) for integration, _ in batch]
    fresh_keys = set(fresh)
    for index, integration, incoming, fingerprint, decision in flat:
        alert = rows[(integration.id, fingerprint)]
        new = (integration.id, fingerprint) in fresh
        fresh.discard((integration.id, fingerprint))
        action = _apply(ctx, integration, alert, incoming, decision, new=new)
        results[index].outcomes.append(
            AlertOutcome(alert.id, fingerprint, alert.status, action, alert.incident_id, alert.suppressed_by)
        )
    if insert_last:
        created = [rows[key] for key in sorted(fresh_keys)]
        if created and store.insert_rows(session, created) < len(created):
            assert ctx.savepoint is not None  # taken by `_store` with the ids
            raise _CreatedMeanwhile(ctx.savepoint)
        store.write_rows(session, [row for key, row in rows.items() if key not in fresh_keys])
    else:
        store.write_rows(session, list(rows.values()))
    _finish(ctx)
    ctx.events.flush()
    return results


def _store(
    ctx: Batch, flat: list[tuple[int, Source, IncomingAlert, str, Decision]], *, insert_last: bool = False
) -> tuple[dict[tuple[int, str], store.AlertRow], set[tuple[int, str]]]:
    """Lock the batch's known alerts, insert the unknown ones (ON CONFLICT DO NOTHING), and return every row
    by (integration, fingerprint) with the set this transaction created.

    With `insert_last` (PostgreSQL) the unknown ones are only given ids from the sequence: the caller inserts
    them once placed. Inserted first, each new alert was written twice, since placing it sets its incident
    (an indexed column, so not a heap-only update): about a third of PostgreSQL's work in a first pass."""
    if not flat:
        return {}, set()
    session = ctx.session
    first: dict[tuple[int, str], tuple[Source, IncomingAlert, Decision]] = {}
    for _index, integration, incoming, fingerprint, decision in flat:
        first.setdefault((integration.id, fingerprint), (integration, incoming, decision))
    keys = sorted(first)
    rows: dict[tuple[int, str], store.AlertRow] = {}
    # On PostgreSQL the incidents' statuses come with the rows (`_needed` reads them; SQLite locks them there).
    statuses = ctx.statuses if ctx.postgres else None
    for alert in store.load_by_keys(session, keys, postgres=ctx.postgres, statuses=statuses):
        rows[(alert.integration_id, alert.fingerprint)] = alert
    missing = [key for key in keys if key not in rows]
    created: set[tuple[int, str]] = set()
    if missing and insert_last:
        # Only batches with new alerts pay for a savepoint (two round trips).
        ctx.savepoint = session.begin_nested()
        ids: Sequence[int] = session.scalars(store.NEXT_ALERT_IDS, {"count": len(missing)}).all()
        for key, alert_id in zip(missing, ids, strict=True):
            initial = store.new_row(ctx.now, key[1], *first[key])
            row = rows[key] = store.AlertRow({**initial, "id": alert_id})
            for name in ("raw", "generator_url", "first_seen_at"):
                object.__setattr__(row, name, initial[name])
            created.add(key)
        return rows, created
    if missing:
        values = {key: store.new_row(ctx.now, key[1], *first[key]) for key in missing}
        # The unique (integration, fingerprint) decides who creates an alert; whoever loses treats it as a repeat.
        # Rows come back identified by their own key, so their order does not matter.
        inserted = (
            store.insert_unnest(session, [values[k] for k in missing])
            if ctx.postgres
            else store.insert_values(session, [values[k] for k in missing])
        )
        for alert_id, integration_id, fingerprint in inserted:
            key = (int(integration_id), str(fingerprint))
            row = rows[key] = store.AlertRow({**values[key], "id": alert_id})
            object.__setattr__(row, "raw", values[key]["raw"])  # as stored: store.write_rows may send it back unchanged
            created.add(key)
        lost = [key for key in missing if key not in created]
        if lost:  # another writer created them since our first look: they are repeats now
            for alert in store.load_by_keys(session, lost, postgres=ctx.postgres, statuses=statuses):
                rows[(alert.integration_id, alert.fingerprint)] = alert
    return rows, created


def _needed(
    ctx: Batch,
    flat: list[tuple[int, Source, IncomingAlert, str, Decision]],
    rows: dict[tuple[int, str], store.AlertRow],
    fresh: set[tuple[int, str]],
) -> tuple[dict[str, str], set[int]]:
    """The groups to lock (alerts that may open or join an incident) and the incidents to lock (those joined,
    and those whose alerts resolve). A repeat of a firing alert with an open incident needs neither."""
    # PostgreSQL: `_store` read the status of every incident the rows link to, with the rows.
    linked = sorted({row.incident_id for row in rows.values() if row.incident_id is not None})
    if linked and not ctx.postgres:
        # SQLite: this transaction already holds the database's write lock, so what it reads now stays true
        # until it commits; the incidents count as locked and preload need not read them again.
        ctx._lock_incidents(linked)
    groups: dict[str, str] = {}
    incident_ids: set[int] = set()
    for _index, integration, incoming, fingerprint, decision in flat:
        row = rows[(integration.id, fingerprint)]
        if incoming.status == "resolved" or incoming.acknowledge:
            if row.incident_id is not None:
                incident_ids.add(row.incident_id)
            continue
        placed = (
            (integration.id, fingerprint) in fresh
            or row.status == "resolved"
            or row.suppressed_by is not None
            or row.incident_id is None
            or ctx.status_of(row.incident_id) == Status.RESOLVED
        )
        if placed:
            groups[decision.group_key] = decision.route
    return groups, incident_ids


def _apply(
    ctx: Batch, integration: Source, alert: store.AlertRow, incoming: IncomingAlert, decision: Decision, *, new: bool
) -> str:
    now = ctx.now
    alert.received += 1
    alert.last_seen_at = now
    if incoming.acknowledge:
        return "acknowledge_unknown" if new else _acknowledge(ctx, integration, alert)
    if not new:
        alert.raw = incoming.raw
        if incoming.annotations:
            alert.annotations = incoming.annotations
            alert.summary = store.summary_of(incoming)
    if incoming.status == "resolved":
        if new:
            return "resolve_unknown"  # recorded (visible in the alert list) and otherwise ignored
        if alert.status == "resolved":
            return "resolve_repeated"
        _resolve(ctx, integration, alert, incoming)
        return "resolved"
    if new:
        _place(ctx, integration, alert, decision, attach_kind="alert_attached")
        return "created"
    if alert.status == "resolved":
        # The same alert fires again (Alertmanager reuses fingerprints across firing periods).
        alert.status = "firing"
        alert.starts_at = incoming.starts_at or now
        alert.ends_at = None
        alert.resolved_at = None
        alert.acknowledged_at = None  # a new firing period: the sender's acknowledgement of the last one is spent
        alert.labels = incoming.labels
        alert.severity, alert.service = decision.severity, decision.service
        alert.route, alert.group_key = decision.route, decision.group_key
        alert.incident_id = None
        _place(ctx, integration, alert, decision, attach_kind="alert_refired")
        return "refired"
    # A repeat of a firing alert: nothing new, unless what held it back has ended or its incident was closed.
    if alert.suppressed_by is not None:
        _place(ctx, integration, alert, decision, attach_kind="alert_attached")
    elif alert.incident_id is None or ctx.status_of(alert.incident_id) == Status.RESOLVED:
        alert.incident_id = None
        _place(ctx, integration, alert, decision, attach_kind="alert_attached")
    return "repeated"


def _place(ctx: Batch, integration: Source, alert: store.AlertRow, decision: Decision, *, attach_kind: str) -> None:
    """Attach a firing alert to its group's open incident, opening one if needed, unless something holds it back."""
    reason = ctx.suppression(alert)
    alert.suppressed_by = reason
    if reason is not None:
        alert.incident_id = None
        return
    session, now = ctx.session, ctx.now
    actor = integration_actor(integration)
    group = ctx.group(alert.group_key, alert.route)
    state = ctx.state(group.incident_id) if group.incident_id is not None else None
    if state is not None and state.status == Status.RESOLVED:
        state = None
    if state is not None and state.status == Status.ACKNOWLEDGED and ctx.acknowledged_by_senders_only(state.id):
        # Senders acknowledged it because every alert then firing was acknowledged; this one is not, and an
        # acknowledged incident does not page again. A new incident for the group pages for it, so that no
        # sender can stop the paging for alerts still to come by acknowledging its own first.
        state = None
    severity = _valid_severity(ctx, alert.severity)
    if state is None:
        ctx.events.flush()
        labels = {k: alert.labels.get(k, "") for k in decision.group_by if k != "..." and k in alert.labels}
        data: dict[str, Any] = {
            "policy": decision.policy,
            "category": decision.category,
            "runbook": decision.runbook,
            "auto_runbook": decision.auto_runbook or None,
            "route": alert.route,
            "group_key": alert.group_key,
            "integration": integration.name,
            "alert": alert.id,
            # The runbooks domain fills placeholders and picks automatic runbooks from these.
            "labels": dict(alert.labels),
            "annotations": dict(alert.annotations),
        }
        incident = incidents.declare(
            session,
            title=_title(alert),
            severity=severity,
            severities=ctx.runtime.severities,
            actor=actor,
            now=now,
            description=alert.annotations.get("description", ""),
            services=[alert.service] if alert.service else [],
            labels=labels,
            started_at=min(alert.starts_at, now),
            detected_at=now,
            data={k: v for k, v in data.items() if v is not None},
        )
        ctx.adopt(incident)
        ctx.open_group(group, incident.id)
        number = incident.id
    else:
        number = state.id
        # Most alerts join an incident that needs no change: the ORM object is loaded only to change it.
        if ctx.runtime.severities.get(severity).rank < ctx.runtime.severities.get(state.severity).rank:
            ctx.events.flush()
            incidents.update(
                session,
                _changing(ctx, number),
                incidents.Changes(severity=severity),
                severities=ctx.runtime.severities,
                actor=actor,
                now=now,
            )
        if ctx.status_of(number) == Status.MONITORING:
            ctx.events.flush()
            jobs.cancel(session, AUTO_RESOLVE, key=f"incident:{number}")
            incidents.change_status(
                session,
                _changing(ctx, number),
                Status.INVESTIGATING.value,
                actor,
                now,
                f"{_title(alert)} is firing again",
            )
        # Otherwise a pending auto-resolve (a person acknowledged) finds this alert firing and does nothing.
    alert.incident_id = number
    ctx.events.append(
        number,
        kind=attach_kind,
        actor=actor,
        at=now,
        message=_title(alert),
        data={
            "alert": alert.id,
            "integration": integration.name,
            "fingerprint": alert.fingerprint,
            "severity": alert.severity,
            "labels": alert.labels,
            "annotations": alert.annotations,
        },
    )


def _resolve(ctx: Batch, integration: Source, alert: store.AlertRow, incoming: IncomingAlert) -> None:
    now = ctx.now
    alert.status = "resolved"
    alert.ends_at = incoming.ends_at or now
    alert.resolved_at = now
    was_suppressed = alert.suppressed_by is not None
    alert.suppressed_by = None
    if alert.incident_id is not None and not was_suppressed:
        state = ctx.state(alert.incident_id)
        if state is not None and state.status != Status.RESOLVED:
            actor = integration_actor(integration)
            ctx.events.append(
                state.id,
                kind="alert_resolved",
                actor=actor,
                at=now,
                message=_title(alert),
                data={"alert": alert.id, "integration": integration.name, "fingerprint": alert.fingerprint},
            )
            # Checked once per incident at the end of the batch (a re-fire later in the batch cancels it).
            ctx.resolved.setdefault(state.id, (actor, dict(alert.labels)))
    if ctx.rules and any(rule.is_source(alert.labels) for rule in ctx.rules):
        ctx.source_resolved = True


def _acknowledge(ctx: Batch, integration: Source, alert: store.AlertRow) -> str:
    """A sender acknowledges its own alert, never the incident as such: an incident may hold other senders'
    alerts, and one key holder must not stop the paging for them. The incident follows at the end of the batch
    once every firing alert in it is acknowledged (`_acknowledge_incidents`)."""
    if alert.status != "firing":
        return "acknowledged"  # nothing fires: nothing to acknowledge
    if alert.acknowledged_at is None:
        alert.acknowledged_at = ctx.now
    if alert.incident_id is not None and alert.suppressed_by is None:
        ctx.acknowledged[alert.incident_id] = integration_actor(integration)
    return "acknowledged"


def _finish(ctx: Batch) -> None:
    """What waits for the whole batch: incidents whose alerts resolved, alerts an inhibition held back."""
    ctx.events.flush()
    candidates, ctx.acknowledged = ctx.acknowledged, {}
    if ctx.resolved:
        highest = store.highest_firing(
            ctx.session, tuple(ctx.runtime.severities.names()), ctx.postgres, sorted(ctx.resolved)
        )
        for incident_id in sorted(ctx.resolved):
            actor, labels = ctx.resolved[incident_id]
            _after_alert_resolved(ctx, incident_id, actor, labels, highest.get(incident_id))
            if incident_id in highest:
                # Alerts still fire: if the one that resolved was the last not acknowledged, the rest are.
                candidates.setdefault(incident_id, actor)
        ctx.resolved.clear()
    if candidates:
        _acknowledge_incidents(ctx, candidates)
    if ctx.source_resolved:
        ctx.source_resolved = False
        # A resolved alert may have held others back: those still firing get their chance now.
        reevaluate(ctx.session, ctx.runtime, now=ctx.now, only_prefix="inhibit:", ctx=ctx)
        _finish(ctx)


def _acknowledge_incidents(ctx: Batch, candidates: dict[int, Actor]) -> None:
    """Senders acknowledge an incident only when every alert firing in it is acknowledged (by its own sender);
    the actor is the integration whose alert completed that. A person's acknowledgement is another path."""
    query = store.acknowledged_query()
    for number in sorted(candidates):
        if ctx.status_of(number) != Status.TRIGGERED:
            continue
        some_acknowledged, some_not = ctx.session.execute(query, {"incident": number}).one()
        if not some_acknowledged or some_not:
            continue
        incident = ctx.incident(number)
        if incident is None or incident.status != Status.TRIGGERED:
            continue
        ctx.events.flush()
        actor = candidates[number]
        incidents.acknowledge(
            ctx.session, incident, actor, ctx.now, f"every firing alert acknowledged by its sender (last: {actor.name})"
        )


def _after_alert_resolved(ctx: Batch, number: int, actor: Actor, labels: dict[str, str], highest: str | None) -> None:
    """`highest`: the highest severity of the incident's alerts still firing, None when none fires."""
    session, now = ctx.session, ctx.now
    state = ctx.state(number)
    if state is None or state.status == Status.RESOLVED:
        return
    if highest is not None:
        if highest != state.severity and not person_set_severity(session, number):
            incidents.update(
                session,
                _changing(ctx, number),
                incidents.Changes(severity=highest),
                severities=ctx.runtime.severities,
                actor=actor,
                now=now,
            )
        return
    resolve_after = ctx.router.decide(labels).resolve_after
    if not person_acknowledged(session, number) and state.status != Status.MONITORING:
        incidents.change_status(
            session,
            _changing(ctx, number),
            Status.MONITORING.value,
            actor,
            now,
            "All alerts resolved; watching for a re-fire.",
        )
    jobs.schedule(
        session,
        AUTO_RESOLVE,
        key=f"incident:{number}",
        due=now + resolve_after,
        payload={"incident": number, "resolve_after": resolve_after.total_seconds()},
        now=now,
    )


def reevaluate(
    session: Session, runtime: Any, *, now: datetime, only_prefix: str | None = None, ctx: Batch | None = None
) -> int:
    """Give still-firing alerts held back (silence, window, inhibition) another look; returns how many now page."""
    ctx = ctx or Batch(session, runtime, now)
    conditions = [Alert.status == "firing", Alert.suppressed_by.is_not(None)]
    if only_prefix:
        conditions.append(Alert.suppressed_by.startswith(only_prefix))
    held = store.load_rows(session, *conditions)
    released = 0
    integrations: dict[int, Source] = {}
    for alert in held:
        integration = integrations.get(alert.integration_id) or session.get(Integration, alert.integration_id)
        if integration is None:
            continue
        integrations[alert.integration_id] = integration
        decision = ctx.decide(dict(alert.labels), integration)
        _place(ctx, integration, alert, decision, attach_kind="alert_attached")
        if alert.suppressed_by is None:
            released += 1
    store.write_rows(session, held)
    ctx.events.flush()
    return released


def _title(alert: store.AlertRow) -> str:
    return alert.summary or alert.labels.get("alertname") or f"Alert {alert.fingerprint}"


def _changing(ctx: Batch, number: int) -> Incident:
    incident = ctx.incident(number)
    if incident is None:  # locked by this transaction a moment ago: it cannot have gone
        raise NotFound(f"No incident #{number}.", field="number")
    return incident


def _valid_severity(ctx: Batch, severity: str) -> str:
    names = ctx.runtime.severities.names()
    return severity if severity in names else names[-1]
