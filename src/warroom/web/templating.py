"""The console's Jinja2 environment (autoescape on) and the one function that renders a page with its headers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from warroom import __version__

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# Autoescape on for every template (a title, an alert label or a runbook's output is text, never markup).
env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    # The templates ship in the package and change only with a release: no stat() of each file per render.
    auto_reload=False,
)


def _when(value: datetime | None) -> str:
    """A timestamp as people read it: `2026-01-05 09:00 UTC`."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


def _duration(seconds: float | None) -> str:
    """`1h 05m`, `4m 10s`, `12s`."""
    if seconds is None:
        return "-"
    total = int(abs(seconds))
    days, rest_of_day = divmod(total, 86400)
    if days:
        hours_left = rest_of_day // 3600
        return f"{days}d {hours_left}h" if hours_left else f"{days}d"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


# The main navigation: (key, label, path). A console page module adds its own line; a page marks itself with `nav`.
NAV_ITEMS: list[tuple[str, str, str]] = [
    ("incidents", "Incidents", "/incidents"),
    ("alerts", "Alerts", "/alerts"),
    ("oncall", "On call", "/oncall"),
    ("monitors", "Monitors", "/monitors"),
]

# The least role that sees a navigation item (key -> role); items not listed are for every logged-in person.
NAV_ROLES: dict[str, str] = {}

env.filters["when"] = _when
env.globals["nav_items"] = NAV_ITEMS
env.globals["nav_roles"] = NAV_ROLES
env.filters["duration"] = _duration
env.globals["version"] = __version__

# Every console page: no framing (clickjacking), scripts and styles only from us (an injected <script> would not
# run even if escaping failed), no referrer beyond our own origin (set-password links carry a secret).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """`template` rendered with the request's visit (person, CSRF token, flash) and `context`."""
    values: dict[str, Any] = {
        "request": request,
        "visit": getattr(request.state, "visit", None),
        "flash": _read_flash(request),
        "root": str(request.scope.get("root_path", "")).rstrip("/"),
        "htmx": request.headers.get("hx-request") == "true",
    }
    values.update(context or {})
    html = env.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


FLASH_COOKIE = "warroom_flash"
_FLASH_LEVELS = ("ok", "info", "error")


def flash(response: Response, text: str, level: str = "ok") -> None:
    """Show `text` on the next page this browser renders (after a redirect), once."""
    value = quote(f"{level}|{text}"[:400], safe="")
    response.set_cookie(FLASH_COOKIE, value, max_age=120, path="/", httponly=True, samesite="lax")


def _read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    level, _, text = unquote(raw).partition("|")
    return {"level": level if level in _FLASH_LEVELS else "info", "text": text[:400]}
