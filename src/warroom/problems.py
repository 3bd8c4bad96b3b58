"""Errors as RFC 9457 problem details, the request-size limit, and request metrics."""

from __future__ import annotations

import json
import time
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warroom.errors import WarroomError
from warroom.secretpaths import redact

PROBLEM_JSON = "application/problem+json"
MAX_BODY_BYTES = 1024 * 1024
log = structlog.get_logger("warroom.http")


_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

# The errors any route may answer, as the OpenAPI document tells clients (and the fuzzer checks): each is
# problem details. Routes add their own (other content types, other bodies) on top.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}}}
    for status, description in {
        400: "Malformed request (not JSON, nested too deep).",
        401: "Missing or invalid credentials.",
        403: "The token's role does not allow this.",
        404: "No such object.",
        409: "The object's state does not allow this.",
        413: "Body larger than 1 MiB.",
        422: "A field or parameter is not acceptable; `errors` names each.",
        503: "The database is unavailable; retry later.",
    }.items()
}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem-details response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if instance:
        # The path may hold a secret (an intake key, a link, a heartbeat token): never echoed back.
        body["instance"] = redact(instance)
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] if len(parts) > 1 else parts
    return ".".join(parts)


def install_problem_handlers(app: FastAPI) -> None:
    """Turn every error a client can cause into problem details; never a stack trace."""

    @app.exception_handler(WarroomError)
    async def _domain(request: Request, exc: WarroomError) -> JSONResponse:
        errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 503:
            headers = {"Retry-After": "5"}
        return problem(exc.status, exc.title, exc.detail, instance=request.url.path, errors=errors, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = exc.errors()
        if any(e.get("type") == "json_invalid" for e in raw):
            return problem(400, "Malformed JSON", "The request body is not valid JSON.", instance=request.url.path)
        errors = [{"field": _field(e.get("loc", ())), "message": e.get("msg", "")} for e in raw]
        first = errors[0] if errors else {"field": "", "message": "invalid"}
        detail = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
        return problem(422, "Invalid request", detail, instance=request.url.path, errors=errors)

    @app.exception_handler(ValidationError)
    async def _inner_validation(request: Request, exc: ValidationError) -> JSONResponse:
        # A model built inside a handler (a contact URL checked against the config's rules...) refused the
        # client's input: that is the client's error, with the field at fault, not a 500.
        errors = [{"field": _field(e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()]
        first = errors[0] if errors else {"field": "", "message": "invalid"}
        detail = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
        return problem(422, "Invalid request", detail, instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem(
            exc.status_code,
            _TITLES.get(exc.status_code, "Error"),
            str(exc.detail),
            instance=request.url.path,
            headers=headers or None,
        )

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable", path=redact(request.url.path), error=str(exc.orig))
        return problem(
            503,
            "Service unavailable",
            "The database is unavailable; retry later.",
            instance=request.url.path,
            headers={"Retry-After": "5"},
        )


class UnhandledErrors:
    """The last net: an exception no handler took is logged once (redacted, no local variables) and answered 500.

    It sits inside Starlette's ServerErrorMiddleware and does not re-raise, so uvicorn does not log the same
    error a second time with its own unredacted traceback. The body has no `instance`: the path may hold a key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error", method=scope.get("method"), path=redact(scope.get("path", "")))
            if started:  # part of the answer is on the wire: all we can do is end it
                return
            response = problem(500, "Internal error", "Something went wrong on our side; it has been logged.")
            await response(scope, receive, send)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path. Starlette's 405 names only the first route that matched the
    path, and GET and POST of one path are often two routes (in two included routers, even)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid request",
}


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413, whether or not Content-Length says so."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0
        answered = False

        async def limited_receive() -> Message:
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request" and not answered:
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer 413 ourselves and tell the app the client went away, so whatever it makes of the
                    # truncated body is never sent.
                    answered = True
                    await self._too_large(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not answered:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            "Payload too large",
            f"The request body is larger than {self.max_bytes // 1024} KiB.",
            instance=scope["path"],
        )
        await response(scope, receive, send)


class SecretRedirectGuard:
    """Answer 404 instead of a redirect whose Location holds a path secret.

    Starlette redirects `/l/{token}/` to `/l/{token}` (and the same for intake keys and heartbeat tokens): the
    Location would echo the secret to whatever sits between the sender and us, and into its logs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def guarded_send(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the redirect's body, if any
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                location = next((v.decode("latin-1") for k, v in message.get("headers", []) if k == b"location"), "")
                if redact(location) != location:
                    replaced = True
                    response = problem(
                        404, "Not found", "No route at this path (no trailing slash here).", instance=scope["path"]
                    )
                    await response(scope, receive, send)
                    return
            await send(message)

        await self.app(scope, receive, guarded_send)


class RequestMetrics:
    """Counters of requests and errors by route template and status."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "warroom_http_requests_total", "HTTP requests answered.", ["method", "route", "status"], registry=registry
        )
        self.errors = Counter(
            "warroom_http_errors_total",
            "HTTP requests answered with a 5xx status.",
            ["method", "route"],
            registry=registry,
        )
        self.latency = Histogram(
            "warroom_http_request_seconds",
            "Time to answer HTTP requests.",
            ["route"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )


class MetricsMiddleware:
    """Count every request by its route template (not its raw path, which would explode the label set)."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(method, template, str(status)).inc()
            if status >= 500:
                self.metrics.errors.labels(method, template).inc()
            self.metrics.latency.labels(template).observe(time.perf_counter() - start)


def dumps(data: Any) -> str:
    """JSON for the CLI and exports."""
    return json.dumps(data, indent=2, default=str, ensure_ascii=False)
