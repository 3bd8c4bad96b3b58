"""HTTP routes of the monitors domain. Creating or changing a monitor needs the admin role: a monitor makes
the server reach whatever address it names."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from sqlalchemy.orm import Session

from warroom.auth import service as audit
from warroom.auth.actor import Actor, Role
from warroom.deps import Admin, ReadSession, Responder, RuntimeDep, Viewer, WriteSession
from warroom.monitors import service
from warroom.monitors.models import Monitor
from warroom.monitors.runner import run_stored_sync
from warroom.monitors.schemas import (
    CheckOutcomeRead,
    MonitorCreate,
    MonitorCreated,
    MonitorDetail,
    MonitorRead,
    Percentiles,
    PingRead,
    TokenRead,
    UptimeRead,
)
from warroom.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["monitors"])


def _is_admin(actor: Actor) -> bool:
    return actor.role.level >= Role.ADMIN.level


def read(monitor: Monitor, *, admin: bool = False) -> MonitorRead:
    """The API form of a monitor: secrets in its definition masked (more of them below admin), and masked in
    its last message too."""
    hidden = service.secret_values(monitor.spec, admin=admin)
    return MonitorRead(
        name=monitor.name,
        service=monitor.service,
        type=monitor.type,
        source=monitor.source,
        severity=monitor.severity,
        interval=monitor.interval_s,
        paused=monitor.paused,
        state=monitor.state,
        state_since=monitor.state_since,
        failures=monitor.failures,
        successes=monitor.successes,
        alert_open=monitor.alert_open,
        last_checked_at=monitor.last_checked_at,
        last_status=monitor.last_status,
        last_message=service.scrub(monitor.last_message, hidden),
        last_latency_ms=monitor.last_latency_ms,
        last_ping_at=monitor.last_ping_at,
        spec=service.redact(monitor.spec, admin=admin),
    )


def detail(
    session: Session, runtime: Runtime, monitor: Monitor, limit: int = 20, *, admin: bool = False
) -> MonitorDetail:
    """The monitor with its last results, latency percentiles (24 h) and uptime (24 h, 7/30/90 days)."""
    now = runtime.clock.now()
    hidden = service.secret_values(monitor.spec, admin=admin)
    results = [
        CheckOutcomeRead(
            at=r.at,
            status=r.status,
            latency_ms=r.latency_ms,
            message=service.scrub(r.message, hidden) or "",
            details=r.details,
        )
        for r in service.last_results(session, monitor.id, limit)
    ]
    return MonitorDetail(
        **read(monitor, admin=admin).model_dump(),
        results=results,
        latency=Percentiles(**service.latency_percentiles(session, monitor.id, now=now)),
        uptime=UptimeRead(**service.uptime(session, monitor.id, now=now)),
    )


def _audit(session: Session, runtime: Runtime, actor: Any, action: str, monitor: Monitor, **extra: Any) -> None:
    audit.record(session, actor, action, f"monitor:{monitor.name}", now=runtime.clock.now(), detail=extra or None)


@router.get("/monitors", response_model=list[MonitorRead])
def list_monitors(
    session: ReadSession,
    actor: Viewer,
    service_name: Annotated[str | None, Query(alias="service")] = None,
    state: Annotated[str | None, Query(description="up, down or unknown")] = None,
) -> list[MonitorRead]:
    """Every monitor with its current state."""
    admin = _is_admin(actor)
    return [read(m, admin=admin) for m in service.list_monitors(session, service=service_name, state=state)]


@router.post("/monitors", status_code=201, response_model=MonitorCreated)
def create_monitor(
    body: MonitorCreate, response: Response, session: WriteSession, runtime: RuntimeDep, actor: Admin
) -> MonitorCreated:
    """Add a monitor (admin). A heartbeat's ping token is in the answer, once."""
    monitor, token = service.create(
        session,
        body,
        source="api",
        now=runtime.clock.now(),
        severities=runtime.severities.names(),
        options=runtime.config.monitoring,
    )
    _audit(session, runtime, actor, "monitor.create", monitor, type=monitor.type, service=monitor.service)
    session.commit()
    response.headers["Location"] = f"/api/v1/monitors/{monitor.name}"
    return MonitorCreated(**read(monitor, admin=True).model_dump(), token=token)


@router.get("/monitors/{name}", response_model=MonitorDetail, response_model_by_alias=True)
def show_monitor(
    name: str,
    session: ReadSession,
    runtime: RuntimeDep,
    actor: Viewer,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> MonitorDetail:
    """State, last results, latency percentiles and uptime of one monitor."""
    return detail(session, runtime, service.get_or_404(session, name), limit, admin=_is_admin(actor))


@router.patch("/monitors/{name}", response_model=MonitorRead)
def update_monitor(
    name: str,
    session: WriteSession,
    runtime: RuntimeDep,
    actor: Admin,
    changes: Annotated[dict[str, Any], Body(description="Fields of the definition to replace.")],
) -> MonitorRead:
    """Change a monitor made over the API (admin); the whole definition is validated again."""
    monitor = service.get_or_404(session, name)
    service.update_monitor(
        session,
        monitor,
        changes,
        now=runtime.clock.now(),
        severities=runtime.severities.names(),
        options=runtime.config.monitoring,
    )
    _audit(session, runtime, actor, "monitor.update", monitor, fields=sorted(changes))
    session.commit()
    return read(monitor, admin=True)


@router.delete("/monitors/{name}", response_model=MonitorRead)
def delete_monitor(name: str, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> MonitorRead:
    """Remove a monitor made over the API, with its history (admin)."""
    monitor = service.get_or_404(session, name)
    answer = read(monitor, admin=True)
    service.delete_monitor(session, monitor)
    _audit(session, runtime, actor, "monitor.delete", monitor)
    session.commit()
    return answer


def _pause(name: str, paused: bool, session: Session, runtime: Runtime, actor: Any) -> MonitorRead:
    monitor = service.get_or_404(session, name)
    service.set_paused(session, monitor, paused, runtime.clock.now())
    _audit(session, runtime, actor, "monitor.pause" if paused else "monitor.resume", monitor)
    session.commit()
    return read(monitor, admin=_is_admin(actor))


@router.post("/monitors/{name}/pause", response_model=MonitorRead)
def pause_monitor(name: str, session: WriteSession, runtime: RuntimeDep, actor: Responder) -> MonitorRead:
    """Stop checking (e.g. during planned work); the state is kept. Responders may pause: it reaches nothing."""
    return _pause(name, True, session, runtime, actor)


@router.post("/monitors/{name}/resume", response_model=MonitorRead)
def resume_monitor(name: str, session: WriteSession, runtime: RuntimeDep, actor: Responder) -> MonitorRead:
    """Start checking again."""
    return _pause(name, False, session, runtime, actor)


@router.post("/monitors/{name}/run", response_model=CheckOutcomeRead)
def run_monitor(name: str, session: ReadSession, runtime: RuntimeDep, actor: Responder) -> CheckOutcomeRead:
    """Run the check once now and answer its result (not stored; the engine's schedule is unchanged)."""
    monitor = service.get_or_404(session, name)
    cfg = service.config_of(monitor)
    # Hold no transaction while the check runs (it may take its whole timeout): detached first, the monitor
    # keeps what was read; a rollback would expire it and the next attribute read would open a transaction.
    session.expunge(monitor)
    session.rollback()
    at = runtime.clock.now()
    outcome = run_stored_sync(runtime, cfg, monitor)
    with runtime.db.transaction() as write:
        _audit(write, runtime, actor, "monitor.run", monitor, status=outcome.status)
    message = service.scrub(outcome.message, service.secret_values(monitor.spec, admin=_is_admin(actor))) or ""
    return CheckOutcomeRead(
        at=at, status=outcome.status, latency_ms=outcome.latency_ms, message=message, details=outcome.details
    )


@router.post("/monitors/{name}/token", response_model=TokenRead)
def new_token(name: str, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> TokenRead:
    """Issue a new ping token for a heartbeat monitor (admin); the old one stops working."""
    monitor = service.get_or_404(session, name)
    token = service.issue_token(session, monitor)
    _audit(session, runtime, actor, "monitor.token", monitor)
    session.commit()
    return TokenRead(token=token, ping_path=f"/api/v1/heartbeats/{token}")


@router.post("/heartbeats/{token}", response_model=PingRead)
@router.get("/heartbeats/{token}", response_model=PingRead, operation_id="ping_heartbeat_get")
@router.head("/heartbeats/{token}", response_model=PingRead, operation_id="ping_heartbeat_head")
def ping(token: str, session: WriteSession, runtime: RuntimeDep) -> PingRead:
    """A heartbeat ping from a cron job or backup script (the token in the URL is the credential)."""
    now = runtime.clock.now()
    monitor = service.record_ping(session, token, now)
    session.commit()
    return PingRead(ok=True, monitor=monitor.name, at=now)
