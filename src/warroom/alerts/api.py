"""HTTP routes of the alerts domain: the intake (async, group-committed) and the management API (thin)."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
import anyio.to_thread
import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from warroom.alerts import batch, intake, integrations, maintenance, pipeline, queries, silences
from warroom.alerts.formats import FormatError, parser_for
from warroom.alerts.formats.pagerduty import PagerDutyInvalid
from warroom.alerts.formats.pagerduty import parse as parse_pagerduty
from warroom.alerts.integrations import IntegrationRef
from warroom.alerts.schemas import (
    AlertPage,
    AlertRead,
    IncomingAlert,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationRead,
    MaintenanceCreate,
    MaintenanceRead,
    RouteTest,
    SilenceCreate,
    SilenceRead,
    TestAlert,
)
from warroom.auth import service as audit
from warroom.deps import (
    Admin,
    PathId,
    QueryId,
    ReadSession,
    Responder,
    RuntimeDep,
    Viewer,
    WriteSession,
    bearer_token,
)
from warroom.errors import InvalidInput, Unavailable, WarroomError
from warroom.runtime import Runtime
from warroom.timeparse import parse_duration

router = APIRouter(tags=["alerts"])

UNKNOWN_KEY = "Unknown or revoked integration key."


# -- intake ------------------------------------------------------------------------------------------------------


def _unauthorized(detail: str) -> JSONResponse:
    # No `instance`: the path holds the key, and answers (and the logs that keep them) must not.
    return JSONResponse(
        {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": detail},
        status_code=401,
        media_type="application/problem+json",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _resolve_key(runtime: Runtime, key: str | None) -> IntegrationRef | JSONResponse:
    metrics = intake.metrics_for(runtime)
    if not key:
        metrics.rejected.labels("unknown", "missing_key").inc()
        return _unauthorized(
            "Missing integration key: POST to /api/v1/intake/<key> or send `Authorization: Bearer <key>`."
        )
    ref = await _lookup(runtime, key)
    if ref is None:
        metrics.rejected.labels("unknown", "unknown_key").inc()
        return _unauthorized(UNKNOWN_KEY)
    return ref


async def _lookup(runtime: Runtime, key: str) -> IntegrationRef | None:
    cache = intake.key_cache(runtime)
    hit, ref = cache.cached(key)
    if hit:
        return ref
    # Only a cache miss reads the database, and never on the event loop; a database that does not answer within
    # the statement timeout is unavailable (503, the sender retries), not an unknown key (401, it gives up).
    try:
        with anyio.fail_after(runtime.db.timeouts.statement):
            return await anyio.to_thread.run_sync(cache.resolve, runtime, key, abandon_on_cancel=True)
    except (TimeoutError, Unavailable):
        # A refusal like any other in /metrics; whose key it was is not known.
        intake.metrics_for(runtime).rejected.labels("unknown", "unavailable").inc()
        raise Unavailable("The database is unavailable; retry later.") from None


async def _read_json(request: Request, runtime: Runtime, integration: str) -> Any:
    body = await request.body()
    try:
        return orjson.loads(body)
    except (ValueError, UnicodeDecodeError):
        intake.metrics_for(runtime).rejected.labels(integration, "malformed_json").inc()
        raise _Malformed() from None


class _Malformed(Exception):
    pass


def _format_problem(runtime: Runtime, integration: str, exc: FormatError) -> JSONResponse:
    intake.metrics_for(runtime).rejected.labels(integration, exc.reason).inc()
    field = exc.field or "body"
    return JSONResponse(
        {
            "type": "about:blank",
            "title": "Invalid alert payload",
            "status": 422,
            "detail": f"{field}: {exc.message}",
            "errors": [{"field": field, "message": exc.message}],
        },
        status_code=422,
        media_type="application/problem+json",
    )


def _malformed() -> JSONResponse:
    return JSONResponse(
        {
            "type": "about:blank",
            "title": "Malformed JSON",
            "status": 400,
            "detail": "The request body is not valid JSON.",
        },
        status_code=400,
        media_type="application/problem+json",
    )


async def _ingest(runtime: Runtime, ref: IntegrationRef, alerts: list[IncomingAlert]) -> pipeline.IngestResult:
    if not alerts:
        return pipeline.IngestResult(ref.name)
    return await intake.writer_for(runtime).ingest(ref, alerts)


async def _intake(request: Request, key: str | None) -> Response:
    runtime: Runtime = request.app.state.runtime
    ref = await _resolve_key(runtime, key)
    if isinstance(ref, JSONResponse):
        return ref
    if ref.type == "pagerduty":
        return await _pagerduty(request, runtime, ref)
    try:
        body = await _read_json(request, runtime, ref.name)
    except _Malformed:
        return _malformed()
    try:
        alerts = parser_for(ref.type)(body, ref.config)
    except FormatError as exc:
        return _format_problem(runtime, ref.name, exc)
    result = await _ingest(runtime, ref, alerts)
    return Response(orjson.dumps(result.as_dict()), media_type="application/json")


def intake_error(exc: WarroomError) -> JSONResponse:
    # The shared handler would put the path (and so the key) in `instance`: intake errors leave it out.
    headers = {"Retry-After": "5"} if exc.status == 503 else None
    return JSONResponse(
        {"type": "about:blank", "title": exc.title, "status": exc.status, "detail": exc.detail},
        status_code=exc.status,
        media_type="application/problem+json",
        headers=headers,
    )


@router.post("/api/v1/intake/{key}", summary="Receive alerts (key in the path)")
async def intake_with_key(key: str, request: Request) -> Response:
    """Receive alerts; the integration's type says how to read the body. 200 only once committed."""
    try:
        return await _intake(request, key)
    except WarroomError as exc:
        return intake_error(exc)


@router.post("/api/v1/intake", summary="Receive alerts (key as a bearer token)")
async def intake_with_bearer(request: Request) -> Response:
    """Receive alerts with `Authorization: Bearer <key>` (Alertmanager's http_config.authorization)."""
    return await _intake(request, bearer_token(request))


def _pd_invalid(errors: list[str]) -> JSONResponse:
    return JSONResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors}, status_code=400
    )


async def _pagerduty(request: Request, runtime: Runtime, ref: IntegrationRef | None) -> Response:
    metrics = intake.metrics_for(runtime)
    body = await request.body()
    try:
        event = orjson.loads(body)
    except (ValueError, UnicodeDecodeError):
        metrics.rejected.labels(ref.name if ref else "unknown", "malformed_json").inc()
        return _pd_invalid(["Malformed JSON: the body could not be parsed"])
    if ref is None:
        key = event.get("routing_key") if isinstance(event, dict) else None
        key = key or request.headers.get("x-routing-key")
        if not isinstance(key, str) or not key.strip():
            metrics.rejected.labels("unknown", "missing_key").inc()
            return _pd_invalid(["'routing_key' is missing or blank"])
        ref = await _lookup(runtime, key.strip())
        if ref is None:
            metrics.rejected.labels("unknown", "unknown_key").inc()
            return _pd_invalid(["Invalid routing key"])
    try:
        alerts = parse_pagerduty(event, ref.config)
    except PagerDutyInvalid as exc:
        metrics.rejected.labels(ref.name, "invalid_payload").inc()
        return _pd_invalid(exc.errors)
    await _ingest(runtime, ref, alerts)
    return JSONResponse(
        {"status": "success", "message": "Event processed", "dedup_key": alerts[0].fingerprint}, status_code=202
    )


@router.post(
    "/v2/enqueue",
    summary="PagerDuty Events API v2",
    tags=["alerts", "pagerduty"],
    # PagerDuty's own answers, which its clients parse: plain JSON, not problem details.
    responses={
        202: {"description": "Event processed.", "content": {"application/json": {}}},
        400: {"description": "Event object is invalid.", "content": {"application/json": {}}},
    },
)
async def pagerduty_enqueue(request: Request) -> Response:
    """Events API v2: `routing_key` is the integration key; answers exactly as PagerDuty does."""
    return await _pagerduty(request, request.app.state.runtime, None)


# -- integrations -------------------------------------------------------------------------------------------------


@router.post("/api/v1/integrations", status_code=201, response_model=IntegrationCreated)
def create_integration(
    body: IntegrationCreate, session: WriteSession, runtime: RuntimeDep, actor: Admin
) -> IntegrationCreated:
    """Create an integration; its key is in this answer only."""
    now = runtime.clock.now()
    integration, key = integrations.create_integration(
        session,
        name=body.name,
        type=body.type,
        created_by=actor.name,
        now=now,
        service=body.service,
        severity=body.severity,
        mapping=body.mapping,
    )
    audit.record(
        session,
        actor,
        "integration.create",
        f"integration:{integration.id}",
        now=now,
        detail={"name": integration.name, "type": integration.type},
    )
    session.commit()
    return IntegrationCreated(**IntegrationRead.of(integration).model_dump(), key=key)


@router.get("/api/v1/integrations", response_model=list[IntegrationRead])
def list_integrations(session: ReadSession, _actor: Viewer, include_revoked: bool = False) -> list[IntegrationRead]:
    """Integrations (never their keys)."""
    return [IntegrationRead.of(i) for i in integrations.list_integrations(session, include_revoked=include_revoked)]


@router.get("/api/v1/integrations/{name}", response_model=IntegrationRead)
def show_integration(name: str, session: ReadSession, _actor: Viewer) -> IntegrationRead:
    """One integration."""
    return IntegrationRead.of(integrations.get_integration(session, name))


@router.delete("/api/v1/integrations/{name}", response_model=IntegrationRead)
def revoke_integration(name: str, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> IntegrationRead:
    """Revoke the integration's key: its sender gets 401 from now on."""
    now = runtime.clock.now()
    integration = integrations.revoke_integration(session, integrations.get_integration(session, name), now=now)
    audit.record(session, actor, "integration.revoke", f"integration:{integration.id}", now=now)
    session.commit()
    intake.key_cache(runtime).invalidate()
    return IntegrationRead.of(integration)


@router.post("/api/v1/integrations/{name}/rotate", response_model=IntegrationCreated)
def rotate_integration(name: str, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> IntegrationCreated:
    """A new key; the old one stops working."""
    now = runtime.clock.now()
    integration, key = integrations.rotate_key(session, integrations.get_integration(session, name))
    audit.record(session, actor, "integration.rotate", f"integration:{integration.id}", now=now)
    session.commit()
    intake.key_cache(runtime).invalidate()
    return IntegrationCreated(**IntegrationRead.of(integration).model_dump(), key=key)


@router.post("/api/v1/integrations/{name}/alerts")
def send_test_alert(
    name: str, body: TestAlert, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> dict[str, Any]:
    """Send an alert as if the integration had (`warroom alert send`)."""
    now = runtime.clock.now()
    integration = integrations.get_integration(session, name)
    if not body.labels:
        raise InvalidInput("A test alert needs at least one label, e.g. alertname=Test.", field="labels")
    alert = IncomingAlert(
        fingerprint=body.fingerprint,
        status=body.status,
        labels=body.labels,
        annotations=body.annotations,
        starts_at=None,
        ends_at=None,
        generator_url=None,
        raw={"sent_by": actor.name, **body.model_dump()},
    )
    result = pipeline.ingest_alerts(session, runtime, integration, [alert], now=now)
    audit.record(session, actor, "alert.send", f"integration:{integration.id}", now=now, detail={"labels": body.labels})
    session.commit()
    return result.as_dict()


# -- alerts -------------------------------------------------------------------------------------------------------


@router.get("/api/v1/alerts", response_model=AlertPage)
def list_alerts(
    session: ReadSession,
    _actor: Viewer,
    status: Annotated[str | None, Query(description="firing, resolved or suppressed.")] = None,
    integration: str | None = None,
    service_name: Annotated[str | None, Query(alias="service")] = None,
    incident: QueryId = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> AlertPage:
    """Alerts, newest first, with cursor pagination."""
    integration_id = integrations.get_integration(session, integration).id if integration else None
    filters = queries.AlertFilters(
        status=status.strip().lower() if status else None,
        integration_id=integration_id,
        service=service_name,
        incident=incident,
    )
    items, next_cursor = queries.list_alerts(session, filters, limit=limit, cursor=cursor)
    names = queries.integration_names(session)
    return AlertPage(items=[AlertRead.of(a, names.get(a.integration_id, "?")) for a in items], next_cursor=next_cursor)


@router.get("/api/v1/alerts/{alert_id}", response_model=AlertRead)
def show_alert(alert_id: PathId, session: ReadSession, _actor: Viewer) -> AlertRead:
    """One alert with the payload it came in."""
    alert = queries.get_alert(session, alert_id)
    names = queries.integration_names(session)
    return AlertRead.of(alert, names.get(alert.integration_id, "?"), with_raw=True)


# -- routes -------------------------------------------------------------------------------------------------------


@router.get("/api/v1/routes")
def list_routes(runtime: RuntimeDep, _actor: Viewer) -> list[dict[str, Any]]:
    """The routes of warroom.yaml, in order."""
    return [r.model_dump(by_alias=True) for r in runtime.config.routes]


@router.post("/api/v1/routes/test")
def test_route(body: RouteTest, runtime: RuntimeDep, _actor: Viewer) -> dict[str, Any]:
    """Which route these labels take and why (`warroom route test`)."""
    decision = batch.router_for(runtime).decide(body.labels, explain=True)
    return {
        "route": decision.route,
        "matched": list(decision.matched),
        "service": decision.service,
        "severity": decision.severity,
        "severity_reason": decision.severity_reason,
        "group_by": list(decision.group_by),
        "group_key": decision.group_key,
        "policy": decision.policy,
        "category": decision.category,
        "runbook": decision.runbook,
        "auto_runbook": decision.auto_runbook,
        "resolve_after_seconds": decision.resolve_after.total_seconds(),
        "routes": [{"name": name, "matches": ok, "reasons": reasons} for name, ok, reasons in decision.explanations],
    }


# -- silences -----------------------------------------------------------------------------------------------------


def _duration(text: str | None, field: str) -> Any:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise InvalidInput(str(exc), field=field) from None


@router.post("/api/v1/silences", status_code=201, response_model=SilenceRead)
def create_silence(body: SilenceCreate, session: WriteSession, runtime: RuntimeDep, actor: Responder) -> SilenceRead:
    """Silence matching alerts for a while."""
    now = runtime.clock.now()
    silence = silences.create(
        session,
        matchers=body.matchers,
        created_by=actor.name,
        now=now,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        duration=_duration(body.duration, "duration"),
        comment=body.comment,
    )
    audit.record(
        session, actor, "silence.create", f"silence:{silence.id}", now=now, detail={"matchers": silence.matchers}
    )
    session.commit()
    return SilenceRead.of(silence, now)


@router.get("/api/v1/silences", response_model=list[SilenceRead])
def list_silences(
    session: ReadSession, runtime: RuntimeDep, _actor: Viewer, include_expired: bool = False
) -> list[SilenceRead]:
    """Silences in force or pending (and expired ones when asked)."""
    now = runtime.clock.now()
    return [SilenceRead.of(s, now) for s in silences.list_silences(session, now=now, include_expired=include_expired)]


@router.get("/api/v1/silences/{silence_id}", response_model=SilenceRead)
def show_silence(silence_id: PathId, session: ReadSession, runtime: RuntimeDep, _actor: Viewer) -> SilenceRead:
    """One silence."""
    return SilenceRead.of(silences.get(session, silence_id), runtime.clock.now())


@router.post("/api/v1/silences/{silence_id}/expire", response_model=SilenceRead)
def expire_silence(silence_id: PathId, session: WriteSession, runtime: RuntimeDep, actor: Responder) -> SilenceRead:
    """End a silence now; alerts it held back that still fire are re-evaluated."""
    now = runtime.clock.now()
    silence = silences.expire(session, silences.get(session, silence_id), now=now)
    audit.record(session, actor, "silence.expire", f"silence:{silence.id}", now=now)
    session.commit()
    return SilenceRead.of(silence, now)


# -- maintenance --------------------------------------------------------------------------------------------------


@router.post("/api/v1/maintenance", status_code=201, response_model=MaintenanceRead)
def create_maintenance(
    body: MaintenanceCreate, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> MaintenanceRead:
    """Schedule a maintenance window for a service."""
    now = runtime.clock.now()
    window = maintenance.create(
        session,
        service=body.service,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        duration=_duration(body.duration, "duration"),
        weekly=body.weekly,
        comment=body.comment,
        created_by=actor.name,
        now=now,
    )
    audit.record(
        session,
        actor,
        "maintenance.create",
        f"maintenance:{window.id}",
        now=now,
        detail={"service": window.service, "weekly": window.weekly},
    )
    session.commit()
    return MaintenanceRead.of(window, now)


@router.get("/api/v1/maintenance", response_model=list[MaintenanceRead])
def list_maintenance(
    session: ReadSession,
    runtime: RuntimeDep,
    _actor: Viewer,
    service_name: Annotated[str | None, Query(alias="service")] = None,
    include_past: bool = False,
) -> list[MaintenanceRead]:
    """Current and upcoming maintenance windows (of one service)."""
    now = runtime.clock.now()
    windows = maintenance.list_windows(session, now=now, service=service_name, include_past=include_past)
    return [MaintenanceRead.of(w, now) for w in windows]


@router.get("/api/v1/services/{name}/maintenance", response_model=list[MaintenanceRead])
def service_maintenance(name: str, session: ReadSession, runtime: RuntimeDep, _actor: Viewer) -> list[MaintenanceRead]:
    """The service's current and upcoming maintenance windows."""
    now = runtime.clock.now()
    return [MaintenanceRead.of(w, now) for w in maintenance.list_windows(session, now=now, service=name)]


@router.post("/api/v1/maintenance/{window_id}/cancel", response_model=MaintenanceRead)
def cancel_maintenance(
    window_id: PathId, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> MaintenanceRead:
    """Cancel a window (every occurrence); alerts it held back are re-evaluated."""
    now = runtime.clock.now()
    window = maintenance.cancel(session, maintenance.get(session, window_id), now=now)
    audit.record(session, actor, "maintenance.cancel", f"maintenance:{window.id}", now=now)
    session.commit()
    return MaintenanceRead.of(window, now)


__all__ = ["Unavailable", "router"]
