"""Builds the ASGI app from the domains' routers."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from warroom import __version__
from warroom.alerts.fastpath import IntakeFastPath
from warroom.apidocs import install_api_docs
from warroom.health import health_of
from warroom.inputs import InputGuard
from warroom.metrics import IncidentCollector
from warroom.problems import (
    PROBLEM_RESPONSES,
    BodyLimitMiddleware,
    MetricsMiddleware,
    RequestMetrics,
    SecretRedirectGuard,
    UnhandledErrors,
    install_problem_handlers,
    problem,
)
from warroom.runtime import Runtime
from warroom.statuspage.fastpath import StatusFastPath
from warroom.web.errors import install_console

log = structlog.get_logger("warroom")

# Each domain with an HTTP face adds its router module here.
ROUTER_MODULES = (
    # Alerts first: the intake is the busiest route, and FastAPI tries routes in the order they were added.
    "warroom.alerts.api",
    "warroom.auth.api",
    "warroom.incidents.api",
    "warroom.reports.api",
    "warroom.runbooks.api",
    "warroom.monitors.api",
    "warroom.oncall.api",
    "warroom.notify.api",
    "warroom.drills.api",
    "warroom.postmortems.api",
    "warroom.statuspage.api",
    "warroom.statuspage.subscribers_api",
    "warroom.statuspage.face",
    "warroom.incidents.live_api",
    # The web console (issue 15): HTML pages over the same service functions, outside the OpenAPI schema.
    "warroom.web.login",
    "warroom.web.incidents",
    "warroom.web.runbooks",
    "warroom.web.admin",
    "warroom.web.sso",
    "warroom.web.alerts",
    "warroom.web.oncall",
    "warroom.web.monitors",
)


def create_app(runtime: Runtime) -> FastAPI:
    """The warroom API for `runtime`."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        engine = None
        if runtime.run_engine:
            from warroom.engine.worker import Engine, EngineAlreadyRunning

            engine = Engine(runtime)
            try:
                engine.start()
            except EngineAlreadyRunning:
                if not runtime.extras.get("engine_optional"):
                    raise
                engine = None
                log.info("engine runs in another worker of this server; this one serves the API only")
        try:
            yield
        finally:
            if engine is not None:
                engine.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="warroom",
        version=__version__,
        description="Self-hosted incident response: alerts, incidents, on-call, runbooks.",
        # Our own /docs serves Swagger UI from the package (works offline); ReDoc would need a CDN, so it is off.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    install_api_docs(app, openapi_url="/openapi.json")
    app.state.runtime = runtime
    install_problem_handlers(app)
    # The console's static files, and HTML error pages on its routes (the API keeps problem+json).
    install_console(app)
    for module_name in ROUTER_MODULES:
        app.include_router(importlib.import_module(module_name).router, responses=PROBLEM_RESPONSES)

    runtime.registry.register(IncidentCollector(runtime))
    request_metrics = RequestMetrics(runtime.registry)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"], response_model=None)
    def ready() -> Response:
        """The database answers and no background part keeps failing; 503 naming the part otherwise."""
        if not runtime.db.ping(timeout=runtime.settings.ready_timeout):
            return problem(503, "Not ready", "The database is unreachable.", headers={"Retry-After": "5"})
        failing = health_of(runtime).problems()
        if failing:
            return problem(503, "Not ready", "; ".join(failing) + ".", headers={"Retry-After": "5"})
        return JSONResponse({"status": "ready"})

    @app.get(
        "/metrics",
        tags=["ops"],
        responses={200: {"description": "Prometheus text format.", "content": {"text/plain": {}}}},
    )
    def metrics() -> Response:
        """Prometheus text format."""
        return Response(generate_latest(runtime.registry), media_type=CONTENT_TYPE_LATEST)

    # Innermost: it sees the router's trailing-slash redirects before anything else answers them.
    app.add_middleware(SecretRedirectGuard)
    # Added first, so it runs inside the metrics and body-limit middleware (Starlette wraps in reverse order).
    app.add_middleware(IntakeFastPath)
    # The same for the public status page's cached bodies and 304s (the busiest GETs during an outage).
    app.add_middleware(StatusFastPath)
    # Outside the intake's short path, so no route (fast or not) reads a body the store could not write.
    app.add_middleware(InputGuard)
    app.add_middleware(UnhandledErrors)
    app.add_middleware(MetricsMiddleware, metrics=request_metrics)
    app.add_middleware(BodyLimitMiddleware)
    return app
