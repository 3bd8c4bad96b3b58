"""The console's error pages: 401 sends the browser to log in; 403, 404, 422, 429 and 500 are clear HTML pages.

The API keeps its problem+json: the app's handlers are wrapped, and a request gets a page only when it was
for a console route (or, unmatched, when a browser asked for HTML outside /api/)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from warroom.errors import WarroomError
from warroom.secretpaths import redact
from warroom.web.templating import STATIC_DIR, render

log = structlog.get_logger("warroom.web")

_TITLES = {
    400: "Bad request",
    401: "Log in to continue",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Cannot do that now",
    413: "Too large",
    422: "Something in the form is not right",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Warroom cannot reach its database",
}
_HINTS = {
    403: "Your role does not allow this. An admin can change roles with `warroom user role`.",
    404: "The address may be mistyped, or what it pointed to is gone.",
    500: "It is not your fault and it has been logged. Try again; if it keeps happening, tell your admin.",
    503: "Retry in a few seconds.",
}


def is_console(request: Request) -> bool:
    """Whether an error on this request is answered with an HTML page rather than problem+json."""
    route = request.scope.get("route")
    endpoint = getattr(route, "endpoint", None)
    if endpoint is not None:
        return str(getattr(endpoint, "__module__", "")).startswith("warroom.web.")
    path = request.url.path
    return not path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def login_url(request: Request) -> str:
    """The login page, coming back to this page (a GET of ours) afterwards."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    if request.method == "GET" and request.headers.get("hx-request") != "true":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return f"{root}/login?next={quote(target, safe='')}"
    return f"{root}/login"


def error_page(request: Request, status: int, detail: str, fields: list[dict[str, str]] | None = None) -> Response:
    """The HTML answer for `status`: a redirect to log in for 401, a page (or an htmx fragment) otherwise."""
    if status == 401:
        if request.headers.get("hx-request") == "true":
            # htmx follows HX-Redirect with a full page load; a 303 would be followed inside the fragment.
            return Response(status_code=401, headers={"HX-Redirect": login_url(request)})
        return RedirectResponse(login_url(request), status_code=303)
    context = {
        "status": status,
        "title": _TITLES.get(status, "Error"),
        "detail": detail,
        "hint": _HINTS.get(status),
        "fields": fields or [],
    }
    headers: dict[str, str] = {}
    if status == 503:
        headers["Retry-After"] = "5"
    if request.headers.get("hx-request") == "true":
        # An action's error lands in the page's message area; the rest of the page stays as it was.
        headers.update({"HX-Retarget": "#flash", "HX-Reswap": "innerHTML", "HX-Reselect": "#error-message"})
        return render(request, "error_fragment.html", context, status=status, headers=headers)
    return render(request, "error.html", context, status=status, headers=headers)


def _fields(errors: list[Any]) -> list[dict[str, str]]:
    out = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header", "form")]
        out.append({"field": ".".join(loc), "message": str(error.get("msg", ""))})
    return out


def _describe(exc: Exception) -> tuple[int, str, list[dict[str, str]]]:
    if isinstance(exc, WarroomError):
        return exc.status, exc.detail, [{"field": exc.field, "message": exc.detail}] if exc.field else []
    if isinstance(exc, RequestValidationError | ValidationError):
        fields = _fields(list(exc.errors()))
        first = fields[0] if fields else {"field": "", "message": "invalid"}
        detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return 422, detail, fields
    if isinstance(exc, StarletteHTTPException):
        detail = str(exc.detail) if exc.status_code != 404 else "There is no page at this address."
        return exc.status_code, detail, []
    if isinstance(exc, OperationalError):
        log.warning("database unavailable", error=str(exc.orig))
        return 503, "The database is unavailable; retry later.", []
    return 500, "Something went wrong on our side; it has been logged.", []


Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def _wrap(original: Handler | None) -> Callable[[Request, Exception], Coroutine[Any, Any, Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        if original is not None and not is_console(request):
            answer = original(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        status, detail, fields = _describe(exc)
        return error_page(request, status, detail, fields)

    return handler


class ConsoleRoute(APIRoute):
    """A console route: an exception no handler knows becomes the 500 page (logged, redacted, no stack trace)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await inner(request)
            except (WarroomError, RequestValidationError, ValidationError, StarletteHTTPException, OperationalError):
                raise
            except Exception:
                log.exception("unhandled error", method=request.method, path=redact(request.url.path))
                return error_page(request, 500, "Something went wrong on our side; it has been logged.")

        return guarded


def console_router(**kwargs: Any) -> APIRouter:
    """A router for console pages: HTML error pages, outside the OpenAPI schema (the fuzzer covers the API)."""
    return APIRouter(route_class=ConsoleRoute, include_in_schema=False, **kwargs)


def install_console(app: FastAPI) -> None:
    """Serve the console's static files and answer errors on console routes with HTML pages."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR, follow_symlink=False), name="static")
    for kind in (WarroomError, RequestValidationError, ValidationError, StarletteHTTPException, OperationalError):
        app.exception_handlers[kind] = _wrap(app.exception_handlers.get(kind))
