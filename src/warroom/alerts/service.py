"""The rules of the alerts domain: integrations and their keys, and turning alerts into the right incidents.

`ingest_alerts` stores, deduplicates, routes, silences and groups; the caller commits. Lock order, the same
everywhere so that two writers never wait on each other in a circle: alert rows, then group rows (sorted
by key), then incidents."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import itertools
import os
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    Table,
    Update,
    any_,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, SessionTransaction, lazyload

from warroom.alerts import maintenance, silences
from warroom.alerts.config import INTEGRATION_TYPES, SEVERITY_NAMES
from warroom.alerts.formats import FormatError
from warroom.alerts.formats.generic import check_mapping
from warroom.alerts.inhibition import InhibitRule, compile_rules, inhibiting_rule
from warroom.alerts.models import Alert, AlertGroup, Integration
from warroom.alerts.routing import Decision, Router, fingerprint_of
from warroom.alerts.schemas import IncomingAlert
from warroom.auth.actor import SYSTEM, Actor, Role
from warroom.db import ColumnArrays
from warroom.engine import jobs
from warroom.errors import Conflict, InvalidInput, NotFound
from warroom.incidents import service as incidents
from warroom.incidents import timeline
from warroom.incidents.models import Incident, Status, TimelineEvent

__all__ = [
    "AlertOutcome",
    "IncomingAlert",
    "IngestResult",
    "builtin_integration",
    "ingest_alerts",
    "ingest_many",
]

AUTO_RESOLVE = "alerts.auto_resolve"
KEY_LOOKUP_LEN = 12
MAX_LIMIT = 500


# -- integrations ------------------------------------------------------------------------------------------------


def hash_key(key: str) -> str:
    """The stored form of an integration key."""
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> str:
    # 32 hex characters: the shape of a PagerDuty integration key, so PagerDuty senders accept it as a routing key.
    return secrets.token_hex(16)


def _check_type(kind: str) -> str:
    kind = kind.strip().lower()
    if kind not in INTEGRATION_TYPES:
        raise InvalidInput(
            f"Unknown integration type {kind!r}: expected one of {', '.join(INTEGRATION_TYPES)}.", field="type"
        )
    return kind


def _check_severity(severity: str | None) -> str | None:
    if severity is None or not severity.strip():
        return None
    if severity.strip().upper() not in SEVERITY_NAMES:
        raise InvalidInput(
            f"Unknown severity {severity!r}: expected one of {', '.join(SEVERITY_NAMES)}.", field="severity"
        )
    return severity.strip().upper()


def create_integration(
    session: Session,
    *,
    name: str,
    type: str,
    created_by: str,
    now: datetime,
    service: str | None = None,
    severity: str | None = None,
    mapping: dict[str, Any] | None = None,
) -> tuple[Integration, str]:
    """Create an integration; returns it and its key, which is stored hashed and shown only now."""
    name = name.strip()
    kind = _check_type(type)
    if session.scalar(select(Integration.id).where(Integration.name == name)) is not None:
        raise Conflict(f"An integration called {name!r} exists: pick another name or rotate its key.", field="name")
    if mapping and kind != "generic":
        raise InvalidInput("Only generic integrations take a mapping.", field="mapping")
    try:
        checked = check_mapping(dict(mapping or {}))
    except FormatError as exc:
        raise InvalidInput(exc.message, field=exc.field) from None
    key = _new_key()
    integration = Integration(
        name=name,
        type=kind,
        key_lookup=key[:KEY_LOOKUP_LEN],
        key_hash=hash_key(key),
        service=(service or "").strip() or None,
        severity=_check_severity(severity),
        config={"mapping": checked} if checked else {},
        source="api",
        created_at=now,
        created_by=created_by,
    )
    session.add(integration)
    session.flush()
    return integration, key


def get_integration(session: Session, ref: str) -> Integration:
    """An integration by name or id, or NotFound."""
    integration = session.scalar(select(Integration).where(Integration.name == ref))
    if integration is None and ref.isdigit():
        integration = session.get(Integration, int(ref))
    if integration is None:
        raise NotFound(f"No integration {ref!r}: see `warroom integration list`.", field="integration")
    return integration


def list_integrations(session: Session, *, include_revoked: bool = False) -> list[Integration]:
    """Integrations by name."""
    query = select(Integration).order_by(Integration.name)
    if not include_revoked:
        query = query.where(Integration.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke_integration(session: Session, integration: Integration, *, now: datetime) -> Integration:
    """Revoke the key: the sender gets 401 from now on (other processes within the key cache's few seconds)."""
    if integration.revoked_at is None:
        integration.revoked_at = now
    return integration


def rotate_key(session: Session, integration: Integration) -> tuple[Integration, str]:
    """A new key for the integration; the old one stops working."""
    if integration.source != "api":
        raise Conflict(
            f"Integration {integration.name!r} comes from {integration.source}; its key is not warroom's to rotate.",
            field="integration",
        )
    key = _new_key()
    integration.key_lookup = key[:KEY_LOOKUP_LEN]
    integration.key_hash = hash_key(key)
    integration.revoked_at = None
    return integration, key


def _ensure_named(session: Session, *, name: str, type: str, source: str, now: datetime, **values: Any) -> Integration:
    existing = session.scalar(select(Integration).where(Integration.name == name))
    if existing is not None:
        return existing
    row = {"name": name, "type": type, "source": source, "created_at": now, "created_by": "warroom", "config": {}}
    row.update(values)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(Integration) if dialect == "postgresql" else sqlite.insert(Integration)
    # Two processes may create it at once: the unique name keeps one, and both read that one.
    session.execute(insert.values(**row).on_conflict_do_nothing(index_elements=["name"]))
    return session.scalars(select(Integration).where(Integration.name == name)).one()


def builtin_integration(session: Session, name: str, *, type: str = "monitor", now: datetime) -> Integration:
    """The integration warroom's own senders (health checks) use; created on first use."""
    return _ensure_named(session, name=name, type=_check_type(type), source="builtin", now=now)


def config_integration(session: Session, runtime: Any, name: str, *, now: datetime) -> Integration:
    """The row of an integration declared in warroom.yaml (created on its first alert)."""
    for item in runtime.config.integrations:
        if item.name == name:
            integration = _ensure_named(
                session,
                name=name,
                type=item.type,
                source="config",
                now=now,
                service=item.service,
                severity=_check_severity(item.severity),
                config={"mapping": item.mapping} if item.mapping else {},
            )
            return integration
    raise NotFound(f"No integration {name!r} in warroom.yaml.", field="integration")


@dataclass(frozen=True)
class IntegrationRef:
    """What the intake path needs to know about an integration, cached in memory between requests."""

    id: int | None  # None: declared in warroom.yaml and not yet used
    name: str
    type: str
    config: dict[str, Any]
    service: str | None = None
    severity: str | None = None


class Source(Protocol):
    """The integration alerts come from, as ingesting needs it: an Integration row or a cached summary."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def service(self) -> str | None: ...

    @property
    def severity(self) -> str | None: ...


@dataclass(frozen=True)
class KnownSource:
    """An integration's row as the key cache last read it: the intake writer needs no query for it."""

    id: int
    name: str
    service: str | None
    severity: str | None


def find_by_key(session: Session, runtime: Any, key: str) -> IntegrationRef | None:
    """The live integration whose key is `key`, or None (unknown and revoked look the same to the caller)."""
    digest = hash_key(key)
    if len(key) >= KEY_LOOKUP_LEN:
        row = session.scalar(select(Integration).where(Integration.key_lookup == key[:KEY_LOOKUP_LEN]))
        expected = row.key_hash if row is not None and row.key_hash else hash_key("absent")
        if hmac.compare_digest(expected, digest) and row is not None and row.revoked_at is None:
            return IntegrationRef(row.id, row.name, row.type, dict(row.config or {}), row.service, row.severity)
    for item in runtime.config.integrations:
        configured = os.environ.get(item.key_env)
        if configured and hmac.compare_digest(hash_key(configured), digest):
            row = session.scalar(select(Integration).where(Integration.name == item.name))
            if row is not None and row.revoked_at is not None:
                return None
            config = {"mapping": item.mapping} if item.mapping else {}
            if row is None:
                return IntegrationRef(None, item.name, item.type, config)
            return IntegrationRef(row.id, item.name, item.type, config, row.service, row.severity)
    return None


# -- ingesting ---------------------------------------------------------------------------------------------------


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


def integration_actor(integration: Source) -> Actor:
    """The actor of alert-driven changes: the integration itself."""
    return Actor(name=integration.name, role=Role.RESPONDER, kind="integration")


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


class _Context:
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
        self._states: dict[int, IncidentState] = {}
        self._groups: dict[str, _Group] = {}
        self.resolved: dict[int, tuple[Actor, dict[str, str]]] = {}
        # Incidents whose alerts a sender acknowledged in this batch, and by whom (see `_acknowledge`).
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

    def suppression(self, alert: AlertRow) -> str | None:
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

    def state(self, number: int) -> IncidentState | None:
        """The incident's id, status and severity, locked for this transaction (read once, without the ORM)."""
        found: IncidentState | None = self._incidents.get(number) or self._states.get(number)
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
        query = _lock_incidents_query(self.postgres)
        for start in range(0, len(numbers), 500):
            for number, status, severity in self.session.execute(
                query, {"numbers": list(numbers[start : start + 500])}
            ):
                self._states[number] = _LockedIncident(number, status, severity)

    def _lock_groups(self, keys: Sequence[str]) -> None:
        query = _lock_groups_query(self.postgres)
        for start in range(0, len(keys), 500):
            for key, incident_id in self.session.execute(query, {"keys": list(keys[start : start + 500])}):
                self._groups[key] = _Group(key, incident_id)

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

    def group(self, key: str, route: str) -> _Group:
        """The group row for `key`, created if new and locked: one incident per group even under concurrency."""
        found = self._groups.get(key)
        if found is None:
            self.preload({key: route}, set())
            found = self._groups[key]
        return found

    def open_group(self, group: _Group, incident_id: int) -> None:
        """Alerts of `group` go to `incident_id` from now on."""
        group.incident_id = incident_id
        table = cast(Table, AlertGroup.__table__)
        self.session.execute(
            update(table).where(table.c.group_key == group.key).values(incident_id=incident_id, updated_at=self.now)
        )


def one_of_param(column: Any, name: str, postgres: bool) -> ColumnElement[bool]:
    """`column IN (:name)`, the list given at execution; on PostgreSQL `column = ANY(:name)`: one statement text
    whatever the number of values, so psycopg prepares it once instead of the server planning each anew."""
    if postgres:
        return cast(ColumnElement[bool], column == any_(bindparam(name, type_=ARRAY(column.type))))
    return cast(ColumnElement[bool], column.in_(bindparam(name, expanding=True)))


# The statements every commit sends are built once: building one and finding its cache key cost more than
# running it through SQLAlchemy's compiled cache.


@functools.lru_cache(maxsize=2)
def _lock_incidents_query(postgres: bool) -> Select[int, str, str]:
    return (
        select(Incident.id, Incident.status, Incident.severity)
        .where(one_of_param(Incident.id, "numbers", postgres))
        .order_by(Incident.id)
        .with_for_update()
    )


@functools.lru_cache(maxsize=2)
def _lock_groups_query(postgres: bool) -> Select[str, int | None]:
    return (
        select(AlertGroup.group_key, AlertGroup.incident_id)
        .where(one_of_param(AlertGroup.group_key, "keys", postgres))
        .order_by(AlertGroup.group_key)
        .with_for_update()
    )


class IncidentState(Protocol):
    """What the intake reads of an incident: a locked row (below) or the ORM object."""

    @property
    def id(self) -> int: ...

    @property
    def status(self) -> str: ...

    @property
    def severity(self) -> str: ...


@dataclass
class _LockedIncident:
    id: int
    status: str
    severity: str


@dataclass
class _Group:
    key: str
    incident_id: int | None


_ROW_COLUMNS = (
    "id",
    "integration_id",
    "fingerprint",
    "status",
    "summary",
    "severity",
    "service",
    "route",
    "group_key",
    "incident_id",
    "suppressed_by",
    "labels",
    "annotations",
    "starts_at",
    "ends_at",
    "resolved_at",
    "acknowledged_at",
    "last_seen_at",
    "received",
)
_UNLOADED: Any = object()


class AlertRow:
    """An alert read with Core for the intake's hot path: no ORM bookkeeping per attribute. Assignments are
    recorded, and `write_rows` sends them back in one executemany."""

    __slots__ = (*_ROW_COLUMNS, "raw", "generator_url", "first_seen_at", "changes")

    id: int
    integration_id: int
    fingerprint: str
    status: str
    summary: str
    severity: str
    service: str | None
    route: str
    group_key: str
    incident_id: int | None
    suppressed_by: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    last_seen_at: datetime
    received: int
    raw: dict[str, Any]  # this and the next two are read only for new alerts (_UNLOADED otherwise)
    generator_url: str | None
    first_seen_at: datetime
    changes: dict[str, Any]

    def __init__(self, values: Any) -> None:
        for name in _ROW_COLUMNS:
            object.__setattr__(self, name, values[name])
        for name in ("raw", "generator_url", "first_seen_at"):
            object.__setattr__(self, name, _UNLOADED)
        object.__setattr__(self, "changes", {})

    def __setattr__(self, name: str, value: Any) -> None:
        current = getattr(self, name)
        if current is _UNLOADED or current != value:
            object.__setattr__(self, name, value)
            self.changes[name] = value


def _rows_query(*conditions: Any, lock: bool, statuses: bool) -> Select[Any]:
    table = cast(Table, Alert.__table__)
    query: Select[Any] = select(*(table.c[name] for name in _ROW_COLUMNS))
    if statuses:
        incidents_table = cast(Table, Incident.__table__)
        query = query.add_columns(incidents_table.c.status.label("incident_status")).outerjoin(
            incidents_table, incidents_table.c.id == table.c.incident_id
        )
    query = query.where(*conditions).order_by(table.c.fingerprint, table.c.integration_id)  # no sort on SQLite
    return query.with_for_update(of=table) if lock else query


def _read_rows(result: Any, statuses: dict[int, str] | None) -> list[AlertRow]:
    rows = []
    for values in result.mappings():
        row = AlertRow(values)
        if statuses is not None and row.incident_id is not None and values["incident_status"] is not None:
            statuses[row.incident_id] = values["incident_status"]
        rows.append(row)
    return rows


def load_rows(
    session: Session, *conditions: Any, lock: bool = True, statuses: dict[int, str] | None = None
) -> list[AlertRow]:
    """Alerts matching `conditions` as AlertRows (locked FOR UPDATE on PostgreSQL), in (fingerprint, integration)
    order so that two writers lock in the same order. With `statuses`, the status of each alert's incident is
    read in the same statement (not locked) and put there by incident number: one round trip fewer."""
    query = _rows_query(*conditions, lock=lock, statuses=statuses is not None)
    return _read_rows(session.execute(query), statuses)


@functools.lru_cache(maxsize=4)
def _rows_by_key_query(postgres: bool, statuses: bool) -> Select[Any]:
    table = cast(Table, Alert.__table__)
    return _rows_query(
        table.c.integration_id == bindparam("integration"),
        one_of_param(table.c.fingerprint, "fingerprints", postgres),
        lock=True,
        statuses=statuses,
    )


def load_by_keys(
    session: Session, keys: Sequence[tuple[int, str]], *, postgres: bool, statuses: dict[int, str] | None = None
) -> list[AlertRow]:
    """`load_rows` for sorted (integration, fingerprint) keys, in statements built once: `integration_id = ?
    AND fingerprint IN (...)`, at most 500 fingerprints at a time. SQLite scans the whole unique key for a
    row-value IN; this form searches it, by fingerprint first (the key's first column: see migration 0012)."""
    query = _rows_by_key_query(postgres, statuses is not None)
    rows: list[AlertRow] = []
    for integration_id, group in itertools.groupby(keys, key=lambda key: key[0]):
        fingerprints = [fingerprint for _, fingerprint in group]
        for start in range(0, len(fingerprints), 500):
            params = {"integration": integration_id, "fingerprints": fingerprints[start : start + 500]}
            rows.extend(_read_rows(session.execute(query, params), statuses))
    return rows


def write_rows(session: Session, rows: Sequence[AlertRow]) -> None:
    """Send the rows' recorded changes: one UPDATE of every column any row changed (on PostgreSQL one statement
    over column arrays, on SQLite an executemany), each row giving its current values for the ones it did not
    change (they are locked, so those are what is stored). A row that has not loaded such a column (`raw`) is
    written with its own set."""
    table = cast(Table, Alert.__table__)
    changed = [row for row in rows if row.changes]
    union = tuple(sorted({name for row in changed for name in row.changes}))
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in changed:
        columns = union if all(getattr(row, name) is not _UNLOADED for name in union) else tuple(sorted(row.changes))
        params = {f"v_{name}": getattr(row, name) for name in columns}
        params["v_id"] = row.id
        shapes.setdefault(columns, []).append(params)
        row.changes.clear()
    postgres = session.get_bind().dialect.name == "postgresql"
    for columns, batch in shapes.items():
        if postgres:
            arrays, statement = _update_from_arrays(columns)
            session.execute(statement, arrays.params(batch, prefix="v_"))
            continue
        statement = (
            update(table)
            .where(table.c.id == bindparam("v_id"))
            .values({name: bindparam(f"v_{name}") for name in columns})
        )
        session.execute(statement, batch)


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
    ctx = _Context(session, runtime, now)
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
        if created and _insert_rows(session, created) < len(created):
            assert ctx.savepoint is not None  # taken by `_store` with the ids
            raise _CreatedMeanwhile(ctx.savepoint)
        write_rows(session, [row for key, row in rows.items() if key not in fresh_keys])
    else:
        write_rows(session, list(rows.values()))
    _finish(ctx)
    ctx.events.flush()
    return results


def _needed(
    ctx: _Context,
    flat: list[tuple[int, Source, IncomingAlert, str, Decision]],
    rows: dict[tuple[int, str], AlertRow],
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


def _summary(incoming: IncomingAlert) -> str:
    labels, annotations = incoming.labels, incoming.annotations
    text = (
        annotations.get("summary")
        or annotations.get("title")
        or annotations.get("message")
        or annotations.get("description")
        or labels.get("alertname")
        or ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        or "alert"
    )
    text = " ".join(text.split())
    return text[:297] + "..." if len(text) > 300 else text


def _store(
    ctx: _Context, flat: list[tuple[int, Source, IncomingAlert, str, Decision]], *, insert_last: bool = False
) -> tuple[dict[tuple[int, str], AlertRow], set[tuple[int, str]]]:
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
    rows: dict[tuple[int, str], AlertRow] = {}
    # On PostgreSQL the incidents' statuses come with the rows (`_needed` reads them; SQLite locks them there).
    statuses = ctx.statuses if ctx.postgres else None
    for alert in load_by_keys(session, keys, postgres=ctx.postgres, statuses=statuses):
        rows[(alert.integration_id, alert.fingerprint)] = alert
    missing = [key for key in keys if key not in rows]
    created: set[tuple[int, str]] = set()
    if missing and insert_last:
        # Only batches with new alerts pay for a savepoint (two round trips).
        ctx.savepoint = session.begin_nested()
        ids: Sequence[int] = session.scalars(_NEXT_ALERT_IDS, {"count": len(missing)}).all()
        for key, alert_id in zip(missing, ids, strict=True):
            initial = _initial(ctx, key[1], *first[key])
            row = rows[key] = AlertRow({**initial, "id": alert_id})
            for name in ("raw", "generator_url", "first_seen_at"):
                object.__setattr__(row, name, initial[name])
            created.add(key)
        return rows, created
    if missing:
        values = {key: _initial(ctx, key[1], *first[key]) for key in missing}
        # The unique (integration, fingerprint) decides who creates an alert; whoever loses treats it as a repeat.
        # Rows come back identified by their own key, so their order does not matter.
        inserted = (
            _insert_unnest(session, [values[k] for k in missing])
            if ctx.postgres
            else _insert_values(session, [values[k] for k in missing])
        )
        for alert_id, integration_id, fingerprint in inserted:
            key = (int(integration_id), str(fingerprint))
            row = rows[key] = AlertRow({**values[key], "id": alert_id})
            object.__setattr__(row, "raw", values[key]["raw"])  # as stored: write_rows may send it back unchanged
            created.add(key)
        lost = [key for key in missing if key not in created]
        if lost:  # another writer created them since our first look: they are repeats now
            for alert in load_by_keys(session, lost, postgres=ctx.postgres, statuses=statuses):
                rows[(alert.integration_id, alert.fingerprint)] = alert
    return rows, created


_INSERT_COLUMNS = tuple(name for name in (*_ROW_COLUMNS, "generator_url", "first_seen_at", "raw") if name != "id")
_NEW_ALERTS = ColumnArrays(cast(Table, Alert.__table__), _INSERT_COLUMNS)


def _insert_values(session: Session, rows: list[dict[str, Any]]) -> Iterator[tuple[int, int, str]]:
    """New alerts in multi-row INSERTs (SQLAlchemy's insertmanyvalues), skipping those another writer created.
    Returned rows are not asked for in parameter order: that made SQLAlchemy send one INSERT per row, since
    ON CONFLICT DO NOTHING may return fewer rows than it was given."""
    table = cast(Table, Alert.__table__)
    statement = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["integration_id", "fingerprint"])
        .returning(table.c.id, table.c.integration_id, table.c.fingerprint)
    )
    for returned in session.execute(statement, rows):
        yield int(returned[0]), int(returned[1]), str(returned[2])


@functools.lru_cache(maxsize=64)
def _update_from_arrays(columns: tuple[str, ...]) -> tuple[ColumnArrays, Update]:
    """The batch's UPDATE for one set of changed columns: one statement, where an executemany runs it per row."""
    arrays = ColumnArrays(cast(Table, Alert.__table__), ("id", *columns))
    return arrays, arrays.update("id", prefix="v_")


_NEXT_ALERT_IDS = select(func.nextval(func.pg_get_serial_sequence("alerts", "id"))).select_from(
    func.generate_series(1, bindparam("count"))
)
_ALL_COLUMNS = ColumnArrays(cast(Table, Alert.__table__), ("id", *_INSERT_COLUMNS))
_INSERT_PLACED_ALERTS = (
    _ALL_COLUMNS.insert()
    .on_conflict_do_nothing(index_elements=["integration_id", "fingerprint"])
    .returning(Alert.__table__.c.id)
)


def _insert_rows(session: Session, rows: Sequence[AlertRow]) -> int:
    """Insert new alerts as they now are (ids from the sequence); how many went in. Fewer than given: another
    writer created some of them after this batch looked."""
    values = [{name: getattr(row, name) for name in _ALL_COLUMNS.columns} for row in rows]
    for row in rows:
        row.changes.clear()
    return len(session.execute(_INSERT_PLACED_ALERTS, _ALL_COLUMNS.params(values)).all())


_INSERT_NEW_ALERTS = (
    _NEW_ALERTS.insert()
    .on_conflict_do_nothing(index_elements=["integration_id", "fingerprint"])
    .returning(Alert.__table__.c.id, Alert.__table__.c.integration_id, Alert.__table__.c.fingerprint)
)


def _insert_unnest(session: Session, rows: list[dict[str, Any]]) -> Iterator[tuple[int, int, str]]:
    """New alerts in one INSERT ... SELECT FROM unnest(column arrays), skipping those another writer created.

    One short statement whatever the number of rows, which psycopg parses once and PostgreSQL plans once. The
    multi-row VALUES form it replaces had a placeholder per value: at a few hundred new alerts per batch (the
    first minutes of a new integration) psycopg spent most of 35 ms splitting the statement's text. The arrays
    go in binary: as text, escaping the payloads cost as much again."""
    for returned in session.execute(_INSERT_NEW_ALERTS, _NEW_ALERTS.params(rows)):
        yield int(returned[0]), int(returned[1]), str(returned[2])


def _initial(
    ctx: _Context, fingerprint: str, integration: Source, incoming: IncomingAlert, decision: Decision
) -> dict[str, Any]:
    now = ctx.now
    # An acknowledge for an alert never seen is recorded like a resolve for one: stored, not firing.
    firing = incoming.status == "firing" and not incoming.acknowledge
    return {
        "integration_id": integration.id,
        "fingerprint": fingerprint,
        "status": "firing" if firing else "resolved",
        "summary": _summary(incoming),
        "severity": decision.severity,
        "service": decision.service,
        "route": decision.route,
        "group_key": decision.group_key,
        "incident_id": None,
        "suppressed_by": None,
        "labels": incoming.labels,
        "annotations": incoming.annotations,
        "generator_url": incoming.generator_url,
        "starts_at": incoming.starts_at or now,
        "ends_at": None if firing else (incoming.ends_at or now),
        "first_seen_at": now,
        "last_seen_at": now,
        "resolved_at": None if firing else now,
        "acknowledged_at": None,
        "received": 0,
        "raw": incoming.raw,
    }


def _apply(
    ctx: _Context, integration: Source, alert: AlertRow, incoming: IncomingAlert, decision: Decision, *, new: bool
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
            alert.summary = _summary(incoming)
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


def _acknowledge(ctx: _Context, integration: Source, alert: AlertRow) -> str:
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


@functools.lru_cache(maxsize=1)
def _acknowledged_query() -> Select[bool, bool]:
    """(any firing alert of the incident is acknowledged by its sender, any is not)."""

    def firing(acknowledged: bool) -> Any:
        column = Alert.acknowledged_at
        return (
            select(Alert.id)
            .where(
                Alert.incident_id == bindparam("incident"),
                Alert.status == "firing",
                Alert.suppressed_by.is_(None),
                column.is_not(None) if acknowledged else column.is_(None),
            )
            .exists()
        )

    return select(firing(True), firing(False))


def _acknowledge_incidents(ctx: _Context, candidates: dict[int, Actor]) -> None:
    """Senders acknowledge an incident only when every alert firing in it is acknowledged (by its own sender);
    the actor is the integration whose alert completed that. A person's acknowledgement is another path."""
    query = _acknowledged_query()
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


def _title(alert: AlertRow) -> str:
    return alert.summary or alert.labels.get("alertname") or f"Alert {alert.fingerprint}"


def _place(ctx: _Context, integration: Source, alert: AlertRow, decision: Decision, *, attach_kind: str) -> None:
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


def _changing(ctx: _Context, number: int) -> Incident:
    incident = ctx.incident(number)
    if incident is None:  # locked by this transaction a moment ago: it cannot have gone
        raise NotFound(f"No incident #{number}.", field="number")
    return incident


def _valid_severity(ctx: _Context, severity: str) -> str:
    names = ctx.runtime.severities.names()
    return severity if severity in names else names[-1]


def _resolve(ctx: _Context, integration: Source, alert: AlertRow, incoming: IncomingAlert) -> None:
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


def _finish(ctx: _Context) -> None:
    """What waits for the whole batch: incidents whose alerts resolved, alerts an inhibition held back."""
    ctx.events.flush()
    candidates, ctx.acknowledged = ctx.acknowledged, {}
    if ctx.resolved:
        highest = _highest_firing(ctx, sorted(ctx.resolved))
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


@functools.lru_cache(maxsize=4)
def _highest_firing_queries(postgres: bool, names: tuple[str, ...]) -> tuple[Select[int, str, int, int], Any]:
    """`_highest_firing`'s two statements: (incident, severity, any alert firing, one of that severity firing)
    and (incident, one probe per severity name, highest first)."""

    def firing_alert(*conditions: ColumnElement[bool]) -> ScalarSelect[int]:
        # The ORDER BY changes no answer (suppressed_by is NULL in every row found). It is the order of the
        # (incident_id, status, suppressed_by, severity) index, so that index needs no sort and wins even
        # when the planner has no statistics, where it had picked the status index and filtered on incident.
        return (
            select(Alert.id)
            .where(
                Alert.incident_id == Incident.id, Alert.status == "firing", Alert.suppressed_by.is_(None), *conditions
            )
            .order_by(Alert.suppressed_by, Alert.severity)
            .limit(1)
            .scalar_subquery()
        )

    probes = select(
        Incident.id, Incident.severity, firing_alert(), firing_alert(Alert.severity == Incident.severity)
    ).where(one_of_param(Incident.id, "numbers", postgres))
    by_name = select(Incident.id, *(firing_alert(Alert.severity == name) for name in names)).where(
        one_of_param(Incident.id, "numbers", postgres)
    )
    return probes, by_name


def _highest_firing(ctx: _Context, numbers: list[int]) -> dict[int, str]:
    """The highest severity among each incident's alerts still firing; incidents with none are left out.

    Index probes (LIMIT 1 each), never a read of every firing alert: an incident's severity is the highest of
    its firing alerts (or a person's choice, which the caller keeps), so while one alert of that severity
    still fires that is the answer, and only an incident that lost its last one probes each severity from the
    highest down. Reading every firing alert's severity had cost PostgreSQL a heap visit per alert (and per
    dead version of one) on every batch, 5-6 ms of 30 under load, and without fresh statistics its planner
    also left the (incident, status) index for the status one, or hashed all firing alerts for an EXISTS."""
    ctx.session.flush()  # the incidents' severities as this transaction changed them
    names = tuple(ctx.runtime.severities.names())
    probes, by_name = _highest_firing_queries(ctx.postgres, names)
    highest: dict[int, str] = {}
    lowered: list[int] = []
    for number, severity, any_firing, same_firing in ctx.session.execute(probes, {"numbers": numbers}):
        if same_firing is not None:
            highest[number] = severity
        elif any_firing is not None:
            lowered.append(number)
    if lowered:
        for incident_id, *found in ctx.session.execute(by_name, {"numbers": lowered}):
            # An alert whose severity is no longer in the table counts as the lowest (as `_valid_severity` says).
            highest[cast(int, incident_id)] = next(
                (name for name, hit in zip(names, found, strict=True) if hit is not None), names[-1]
            )
    return highest


def firing_alerts_of(session: Session, incident_id: int) -> list[Alert]:
    """The incident's alerts that still fire."""
    return list(
        session.scalars(
            select(Alert).where(
                Alert.incident_id == incident_id, Alert.status == "firing", Alert.suppressed_by.is_(None)
            )
        )
    )


def _after_alert_resolved(
    ctx: _Context, number: int, actor: Actor, labels: dict[str, str], highest: str | None
) -> None:
    """`highest`: the highest severity of the incident's alerts still firing, None when none fires."""
    session, now = ctx.session, ctx.now
    state = ctx.state(number)
    if state is None or state.status == Status.RESOLVED:
        return
    if highest is not None:
        if highest != state.severity and not _person_set_severity(session, number):
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


def person_acknowledged(session: Session, incident_id: int) -> bool:
    """True when a person (not warroom, not an integration) has acknowledged the incident."""
    found = session.scalar(
        select(TimelineEvent.id)
        .where(
            TimelineEvent.incident_id == incident_id,
            TimelineEvent.kind == "acknowledged",
            TimelineEvent.actor_kind.in_(("token", "user")),
        )
        .limit(1)
    )
    return found is not None


def _person_set_severity(session: Session, incident_id: int) -> bool:
    found = session.scalar(
        select(TimelineEvent.id)
        .where(
            TimelineEvent.incident_id == incident_id,
            TimelineEvent.kind == "severity_changed",
            TimelineEvent.actor_kind.in_(("token", "user")),
        )
        .limit(1)
    )
    return found is not None


def auto_resolve(session: Session, runtime: Any, incident_id: int, *, now: datetime, waited: timedelta) -> str:
    """After resolve_after with nothing firing: resolve (by warroom), or only note it when a person is in charge."""
    try:
        incident = incidents.get_for_update(session, incident_id)
    except NotFound:
        return "gone"
    if incident.status == Status.RESOLVED:
        return "already resolved"
    if firing_alerts_of(session, incident_id):
        return "firing again"
    minutes = int(waited.total_seconds() // 60)
    span = f"{minutes} min" if minutes else f"{int(waited.total_seconds())} s"
    if person_acknowledged(session, incident_id):
        incidents.add_note(
            session,
            incident,
            SYSTEM,
            now,
            f"No alert has fired for {span}. A person acknowledged this incident, so warroom leaves resolving "
            "it to the responders.",
        )
        return "noted"
    incidents.resolve(session, incident, SYSTEM, now, f"All alerts resolved and quiet for {span}.")
    return "resolved"


def reevaluate(
    session: Session, runtime: Any, *, now: datetime, only_prefix: str | None = None, ctx: _Context | None = None
) -> int:
    """Give still-firing alerts held back (silence, window, inhibition) another look; returns how many now page."""
    ctx = ctx or _Context(session, runtime, now)
    conditions = [Alert.status == "firing", Alert.suppressed_by.is_not(None)]
    if only_prefix:
        conditions.append(Alert.suppressed_by.startswith(only_prefix))
    held = load_rows(session, *conditions)
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
    write_rows(session, held)
    ctx.events.flush()
    return released


# -- reading -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertFilters:
    """What `GET /alerts` filters on."""

    status: str | None = None
    integration_id: int | None = None
    service: str | None = None
    incident: int | None = None


def encode_cursor(alert_id: int) -> str:
    """An opaque cursor after alert `alert_id`."""
    return base64.urlsafe_b64encode(f"a:{alert_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The alert id a cursor points after."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind != "a":
            raise ValueError(kind)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("Invalid cursor: pass the next_cursor of a previous page.", field="cursor") from None


def _filtered(filters: AlertFilters) -> Select[Alert]:
    query = select(Alert)
    if filters.status:
        if filters.status == "suppressed":
            query = query.where(Alert.status == "firing", Alert.suppressed_by.is_not(None))
        else:
            query = query.where(Alert.status == filters.status)
    if filters.integration_id is not None:
        query = query.where(Alert.integration_id == filters.integration_id)
    if filters.service:
        query = query.where(Alert.service == filters.service)
    if filters.incident is not None:
        query = query.where(Alert.incident_id == filters.incident)
    return query


def list_alerts(
    session: Session, filters: AlertFilters, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[Alert], str | None]:
    """A page of alerts, newest first, and the next cursor (None at the end)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    if filters.status and filters.status not in ("firing", "resolved", "suppressed"):
        raise InvalidInput(
            f"Unknown alert status {filters.status!r}: expected firing, resolved or suppressed.", field="status"
        )
    query = _filtered(filters)
    if cursor:
        query = query.where(Alert.id < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(Alert.id.desc()).limit(limit + 1)))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].id)
    return rows, None


def get_alert(session: Session, alert_id: int) -> Alert:
    """The alert with this id, or NotFound."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"No alert {alert_id}.", field="id")
    return alert


def integration_names(session: Session) -> dict[int, str]:
    """Integration id → name (for listings)."""
    return {row[0]: row[1] for row in session.execute(select(Integration.id, Integration.name))}


def count_alerts(session: Session) -> int:
    """How many alerts are stored (benchmarks, tests)."""
    return int(session.scalar(select(func.count(Alert.id))) or 0)
