"""The rules of the monitors domain: definitions, sync from config, what the engine polls, results read, pruning.

Functions never commit. The scheduler's batch writes are in `batches`, how engines share the monitors in
`sharing`: with this module, the only code that writes the domain's tables.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from warroom.errors import Conflict, InvalidInput, NotFound
from warroom.monitors.alerting import MonitorInfo
from warroom.monitors.batches import day_of, minute_of
from warroom.monitors.checks import config_path_problem
from warroom.monitors.models import Monitor, MonitorEngine, MonitorResult, MonitorRollup
from warroom.monitors.schemas import MonitorConfig, MonitoringConfig, problems
from warroom.monitors.state import MonitorState, Policy

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"})
MASK = "********"


# -- definitions ---------------------------------------------------------------------------------------------------


def config_of(monitor: Monitor) -> MonitorConfig:
    """The stored definition as a MonitorConfig."""
    return MonitorConfig.model_validate(monitor.spec)


def policy_of(cfg: MonitorConfig) -> Policy:
    """When the monitor goes down and when it recovers."""
    return Policy(
        down_after=cfg.down_after,
        down_for=timedelta(seconds=cfg.down_for) if cfg.down_for else None,
        recover_after=cfg.recover_after,
    )


def info_of(cfg: MonitorConfig) -> MonitorInfo:
    """What an alert says about the monitor."""
    return MonitorInfo(
        name=cfg.name,
        service=cfg.service,
        type=cfg.type,
        severity=cfg.severity,
        description=cfg.description,
        labels=tuple(sorted(cfg.labels.items())),
    )


def state_of(monitor: Monitor) -> MonitorState:
    """The stored up/down state."""
    return MonitorState(
        state=monitor.state,
        since=monitor.state_since,
        failures=monitor.failures,
        successes=monitor.successes,
        failing_since=monitor.failing_since,
        alert_open=monitor.alert_open,
    )


def validate(
    cfg: MonitorConfig, severities: Sequence[str], *, source: str, options: MonitoringConfig | None = None
) -> None:
    """Raise InvalidInput naming the first field at fault. With `options`, a log or sqlite monitor's file must
    be under the folders they allow (warroom.yaml's own monitors are checked by `warroom config check`)."""
    found = problems(cfg, list(severities))
    refused = config_path_problem(cfg, options) if options is not None else None
    if refused is not None:
        found.append(("path", refused))
    if found:
        field, reason = found[0]
        raise InvalidInput(f"Monitor {cfg.name!r}: {reason}.", field=field)
    if source == "api" and cfg.type == "command":
        # Commands run only from files on disk, never from text that arrived over the network.
        raise InvalidInput(
            "command monitors can only be declared in warroom.yaml (commands never come over the network).",
            field="type",
        )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def redact(spec: dict[str, Any], *, admin: bool = False) -> dict[str, Any]:
    """The definition without secrets: URL passwords and credential headers are masked for everyone; for anyone
    below admin also every URL query value (API keys ride there: ?token=...), every header value and the body."""
    clean = dict(spec)
    url = clean.get("url")
    if isinstance(url, str):
        parts = urlsplit(url)
        if parts.password:
            netloc = f"{parts.username or ''}:{MASK}@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
            parts = parts._replace(netloc=netloc)
        if parts.query and not admin:
            masked = [(key, MASK) for key, _ in parse_qsl(parts.query, keep_blank_values=True)]
            parts = parts._replace(query=urlencode(masked, safe="*"))
        clean["url"] = urlunsplit(parts)
    headers = clean.get("headers")
    if isinstance(headers, dict):
        # Below admin every header value: a service's own key header (X-Vault-Token...) is no known name.
        clean["headers"] = {k: (MASK if not admin or k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}
    if clean.get("body") is not None and not admin:
        clean["body"] = MASK
    return clean


def secret_values(spec: dict[str, Any], *, admin: bool = False) -> list[str]:
    """The secret strings of a definition `redact` hides, longest first, to scrub them from check messages too
    (an error that quotes the URL must not give back what the definition view masked)."""
    found: list[str] = []
    url = spec.get("url")
    if isinstance(url, str):
        parts = urlsplit(url)
        if parts.password:
            found += [parts.password, unquote(parts.password)]
        if not admin:
            for _, value in parse_qsl(parts.query, keep_blank_values=True):
                found += [value, quote(value, safe=""), quote_plus(value)]
    headers = spec.get("headers")
    if isinstance(headers, dict):
        found += [str(v) for k, v in headers.items() if not admin or k.lower() in SECRET_HEADERS]
    body = spec.get("body")
    if isinstance(body, str) and not admin:
        found.append(body)
    # Short values ("1", "on") would mangle every message and hide nothing worth hiding.
    return sorted({v for v in found if len(v) >= 4}, key=len, reverse=True)


def scrub(text: str | None, secrets_: Sequence[str]) -> str | None:
    """`text` with every secret of the definition replaced by the mask."""
    if not text:
        return text
    for value in secrets_:
        text = text.replace(value, MASK)
    return text


def _apply(monitor: Monitor, cfg: MonitorConfig, now: datetime) -> None:
    monitor.service = cfg.service
    monitor.type = cfg.type
    monitor.spec = cfg.spec()
    monitor.interval_s = cfg.interval
    monitor.severity = cfg.severity
    monitor.updated_at = now
    if cfg.token:
        monitor.token_hash = _token_hash(cfg.token)


def get(session: Session, name: str) -> Monitor | None:
    """The monitor called `name`, or None."""
    return session.scalar(select(Monitor).where(Monitor.name == name))


def get_or_404(session: Session, name: str) -> Monitor:
    """The monitor called `name`; NotFound says how to list them."""
    monitor = get(session, name)
    if monitor is None:
        raise NotFound(f"No monitor named {name!r}: see `warroom monitor list`.")
    return monitor


def list_monitors(session: Session, *, service: str | None = None, state: str | None = None) -> list[Monitor]:
    """Monitors by name, optionally of one service or in one state."""
    query = select(Monitor).order_by(Monitor.name)
    if service:
        query = query.where(Monitor.service == service)
    if state:
        query = query.where(Monitor.state == state)
    return list(session.scalars(query))


def create(
    session: Session,
    cfg: MonitorConfig,
    *,
    source: str,
    now: datetime,
    severities: Sequence[str],
    options: MonitoringConfig | None = None,
) -> tuple[Monitor, str | None]:
    """Add a monitor; for a heartbeat without a token, a token is made and returned once (stored hashed)."""
    validate(cfg, severities, source=source, options=options)
    if get(session, cfg.name) is not None:
        raise Conflict(f"A monitor named {cfg.name!r} exists already: change it, or pick another name.")
    monitor = Monitor(
        name=cfg.name,
        source=source,
        paused=cfg.paused,
        version=1,
        created_at=now,
        state="unknown",
        failures=0,
        successes=0,
        alert_open=False,
    )
    _apply(monitor, cfg, now)
    token = None
    if cfg.type == "heartbeat" and not cfg.token:
        token = secrets.token_urlsafe(24)
        monitor.token_hash = _token_hash(token)
    session.add(monitor)
    session.flush()
    return monitor, token


def update_monitor(
    session: Session,
    monitor: Monitor,
    changes: dict[str, Any],
    *,
    now: datetime,
    severities: Sequence[str],
    options: MonitoringConfig | None = None,
) -> Monitor:
    """Replace the given fields of an API monitor's definition; the whole is validated again."""
    if monitor.source == "config":
        raise Conflict(f"Monitor {monitor.name!r} is declared in warroom.yaml: change it there.")
    if "name" in changes and changes["name"] != monitor.name:
        raise InvalidInput("A monitor cannot be renamed: create a new one and delete this one.", field="name")
    merged = {**monitor.spec, **changes}
    cfg = MonitorConfig.model_validate(merged)
    validate(cfg, severities, source="api", options=options)
    _apply(monitor, cfg, now)
    if "paused" in changes:
        monitor.paused = cfg.paused
    monitor.version += 1
    return monitor


def delete_monitor(session: Session, monitor: Monitor) -> None:
    """Remove a monitor with its results and rollups."""
    if monitor.source == "config":
        raise Conflict(f"Monitor {monitor.name!r} is declared in warroom.yaml: remove it there.")
    session.execute(delete(MonitorRollup).where(MonitorRollup.monitor_id == monitor.id))
    session.execute(delete(MonitorResult).where(MonitorResult.monitor_id == monitor.id))
    session.delete(monitor)


def set_paused(session: Session, monitor: Monitor, paused: bool, now: datetime) -> Monitor:
    """Pause (no checks, state kept) or resume a monitor."""
    if monitor.paused != paused:
        monitor.paused = paused
        monitor.version += 1
        monitor.updated_at = now
    return monitor


def issue_token(session: Session, monitor: Monitor) -> str:
    """A new ping token for a heartbeat monitor (the old one stops working)."""
    if monitor.type != "heartbeat":
        raise InvalidInput(f"Monitor {monitor.name!r} is a {monitor.type} monitor; only heartbeats take pings.")
    token = secrets.token_urlsafe(24)
    monitor.token_hash = _token_hash(token)
    return token


def record_ping(session: Session, token: str, now: datetime) -> Monitor:
    """Note a heartbeat ping; NotFound for an unknown token."""
    monitor = session.scalar(select(Monitor).where(Monitor.token_hash == _token_hash(token)))
    if monitor is None:
        raise NotFound("Unknown heartbeat token: check the ping URL.")
    session.execute(update(Monitor).where(Monitor.id == monitor.id).values(last_ping_at=now))
    monitor.last_ping_at = now
    return monitor


@dataclass
class SyncReport:
    """What syncing warroom.yaml into the database changed."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0


def sync_config(
    session: Session, configs: Iterable[MonitorConfig], *, now: datetime, severities: Sequence[str]
) -> SyncReport:
    """Make the database's config monitors match warroom.yaml; running it twice changes nothing."""
    report = SyncReport()
    existing = {m.name: m for m in session.scalars(select(Monitor))}
    wanted = set()
    for cfg in configs:
        wanted.add(cfg.name)
        validate(cfg, severities, source="config")
        monitor = existing.get(cfg.name)
        if monitor is None:
            monitor, _ = create(session, cfg, source="config", now=now, severities=severities)
            report.created += 1
            continue
        token_changed = bool(cfg.token) and monitor.token_hash != _token_hash(cfg.token or "")
        if monitor.source == "config" and monitor.spec == cfg.spec() and not token_changed:
            report.unchanged += 1
            continue
        # The file is the source of truth: a monitor of the same name made over the API is taken over.
        monitor.source = "config"
        _apply(monitor, cfg, now)
        monitor.paused = cfg.paused
        monitor.version += 1
        report.updated += 1
    for name, monitor in existing.items():
        if monitor.source == "config" and name not in wanted:
            monitor.source = "api"  # so that delete_monitor accepts it
            delete_monitor(session, monitor)
            report.deleted += 1
    session.flush()
    return report


# -- what the engine polls -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Brief:
    """What the engine polls for every monitor each refresh (cheap: no definition)."""

    id: int
    version: int
    paused: bool
    last_ping_at: datetime | None


def briefs(session: Session) -> list[Brief]:
    """Every monitor's id, version, pause and last ping."""
    rows = session.execute(select(Monitor.id, Monitor.version, Monitor.paused, Monitor.last_ping_at))
    return [Brief(r[0], r[1], r[2], r[3]) for r in rows]


def fingerprint(session: Session) -> tuple[int, int, int]:
    """(count, sum of versions, highest id): changes whenever a monitor is added, changed, paused or removed."""
    row = session.execute(select(func.count(), func.coalesce(func.sum(Monitor.version), 0), func.max(Monitor.id))).one()
    return int(row[0]), int(row[1]), int(row[2] or 0)


def pings(session: Session) -> dict[int, datetime | None]:
    """Last ping of every heartbeat monitor."""
    rows = session.execute(select(Monitor.id, Monitor.last_ping_at).where(Monitor.type == "heartbeat"))
    return {r[0]: r[1] for r in rows}


def load(session: Session, ids: Sequence[int]) -> list[Monitor]:
    """Full rows of these monitors."""
    found: list[Monitor] = []
    for start in range(0, len(ids), 500):
        found.extend(session.scalars(select(Monitor).where(Monitor.id.in_(ids[start : start + 500]))))
    return found


# -- reading results -----------------------------------------------------------------------------------------------


def last_results(session: Session, monitor_id: int, limit: int = 20) -> list[MonitorResult]:
    """The latest results, newest first."""
    return list(
        session.scalars(
            select(MonitorResult)
            .where(MonitorResult.monitor_id == monitor_id)
            .order_by(MonitorResult.at.desc(), MonitorResult.id.desc())
            .limit(limit)
        )
    )


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(math.ceil(fraction * len(sorted_values)) - 1, 0)
    return sorted_values[min(rank, len(sorted_values) - 1)]


def latency_percentiles(session: Session, monitor_id: int, *, now: datetime) -> dict[str, Any]:
    """p50/p90/p95/p99/max of the last 24 h's latencies (ms)."""
    values = sorted(
        v
        for v in session.scalars(
            select(MonitorResult.latency_ms).where(
                MonitorResult.monitor_id == monitor_id,
                MonitorResult.at >= now - timedelta(hours=24),
                MonitorResult.latency_ms.is_not(None),
            )
        )
        if v is not None
    )
    return {
        "count": len(values),
        "p50": percentile(values, 0.50),
        "p90": percentile(values, 0.90),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "max": values[-1] if values else None,
    }


def _ratio(session: Session, monitor_id: int, resolution: str, since: datetime) -> float | None:
    row = session.execute(
        select(MonitorRollup.checks, MonitorRollup.up).where(
            MonitorRollup.monitor_id == monitor_id,
            MonitorRollup.resolution == resolution,
            MonitorRollup.bucket >= since,
        )
    ).all()
    checks = sum(r[0] for r in row)
    return round(sum(r[1] for r in row) / checks, 6) if checks else None


def uptime(session: Session, monitor_id: int, *, now: datetime) -> dict[str, float | None]:
    """Share of checks up: 24 h from minute rollups, 7/30/90 days from day rollups (whole UTC days)."""
    today = day_of(now)
    return {
        "h24": _ratio(session, monitor_id, "m", minute_of(now - timedelta(hours=24))),
        "d7": _ratio(session, monitor_id, "d", today - timedelta(days=6)),
        "d30": _ratio(session, monitor_id, "d", today - timedelta(days=29)),
        "d90": _ratio(session, monitor_id, "d", today - timedelta(days=89)),
    }


def prune(session: Session, *, now: datetime, options: MonitoringConfig) -> dict[str, int]:
    """Delete results and rollups past their retention, and engines gone for a day."""

    def count(result: Any) -> int:
        return int(getattr(result, "rowcount", 0) or 0)

    raw = count(
        session.execute(delete(MonitorResult).where(MonitorResult.at < now - timedelta(seconds=options.raw_retention)))
    )
    minutes = count(
        session.execute(
            delete(MonitorRollup).where(
                MonitorRollup.resolution == "m",
                MonitorRollup.bucket < now - timedelta(seconds=options.minute_retention),
            )
        )
    )
    days = count(
        session.execute(
            delete(MonitorRollup).where(
                MonitorRollup.resolution == "d",
                MonitorRollup.bucket < now - timedelta(seconds=options.rollup_retention),
            )
        )
    )
    engines = count(session.execute(delete(MonitorEngine).where(MonitorEngine.last_seen < now - timedelta(days=1))))
    return {"results": raw, "minute_rollups": minutes, "day_rollups": days, "engines": engines}
