"""Integrations and their keys: creating, finding by key, rotating and revoking the senders of alerts."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from warroom.alerts.config import INTEGRATION_TYPES, SEVERITY_NAMES
from warroom.alerts.formats import FormatError
from warroom.alerts.formats.generic import check_mapping
from warroom.alerts.models import Integration
from warroom.auth.actor import Actor, Role
from warroom.errors import Conflict, InvalidInput, NotFound

KEY_LOOKUP_LEN = 12


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


def integration_actor(integration: Source) -> Actor:
    """The actor of alert-driven changes: the integration itself."""
    return Actor(name=integration.name, role=Role.RESPONDER, kind="integration")
