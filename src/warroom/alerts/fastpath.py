"""The intake's short way through the ASGI stack.

Alert senders are the busiest clients, and FastAPI's routing and dependency machinery cost a third of the
intake's in-app time per request. This middleware sits inside the body-limit and metrics middleware and
hands POSTs to the intake paths straight to their handlers; every other request goes through FastAPI. The
routes stay registered with FastAPI too, so they are in the OpenAPI document and behave the same."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from warroom.alerts import api
from warroom.errors import WarroomError

log = structlog.get_logger("warroom.alerts")

INTAKE = "/api/v1/intake"
PAGERDUTY = "/v2/enqueue"


class IntakeFastPath:
    """ASGI middleware: POST /api/v1/intake, /api/v1/intake/{key} and /v2/enqueue skip FastAPI's router."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The FastAPI route objects, so that request metrics carry the same route template either way.
        self.routes: dict[str, Any] = {getattr(route, "path", ""): route for route in api.router.routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            target = self._target(scope["path"])
            if target is not None:
                template, handler = target
                scope["route"] = self.routes.get(template)
                response = await _answer(handler, Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _target(path: str) -> tuple[str, Callable[[Request], Awaitable[Response]]] | None:
        if path == INTAKE:
            return INTAKE, api.intake_with_bearer
        if path.startswith(INTAKE + "/"):
            key = path[len(INTAKE) + 1 :]
            if key and "/" not in key:
                return INTAKE + "/{key}", lambda request: api.intake_with_key(key, request)
        if path == PAGERDUTY:
            return PAGERDUTY, api.pagerduty_enqueue
        return None


async def _answer(handler: Callable[[Request], Awaitable[Response]], request: Request) -> Response:
    try:
        return await handler(request)
    except WarroomError as exc:
        return api.intake_error(exc)
    except Exception:
        # No `instance`: the path may hold the integration key.
        log.exception("unhandled intake error")
        return JSONResponse(
            {
                "type": "about:blank",
                "title": "Internal error",
                "status": 500,
                "detail": "Something went wrong on our side; it has been logged.",
            },
            status_code=500,
            media_type="application/problem+json",
        )
