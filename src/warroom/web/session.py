"""Who is at the console: the session cookie, the current person as an Actor, role checks and CSRF for actions.

Console routes take `Person` (any logged-in role) for pages and `Acting(Role.X)` for changes: the same Actor and
role check as the API's token routes, so a console action calls the same service function with the same rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.exc import OperationalError

from warroom.auth import sessions as browser_sessions
from warroom.auth.actor import Actor, Role
from warroom.deps import RuntimeDep
from warroom.errors import Forbidden, Unauthorized, Unavailable
from warroom.runtime import Runtime

COOKIE = "warroom_session"
# A cookie named __Host-... is only accepted by browsers when Secure, Path=/ and without Domain: a neighbour
# (another app on a sibling subdomain) cannot plant or shadow it.
SECURE_PREFIX = "__Host-"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Unauthorized):
    """No session, or one that ended: the console sends the browser to the login page."""


class CsrfRefused(Forbidden):
    """A state-changing console request without this session's CSRF token."""


def is_secure(request: Request) -> bool:
    """Whether cookies get `Secure`: the request came over https (uvicorn trusts X-Forwarded-Proto only from
    --forwarded-allow-ips, 127.0.0.1 by default), or WARROOM_PUBLIC_URL says people reach us over https."""
    runtime: Runtime = request.app.state.runtime
    public = (runtime.settings.public_url or "").strip().lower()
    return request.url.scheme == "https" or public.startswith("https://")


def cookie_name(request: Request, base: str = COOKIE) -> str:
    """The session cookie's name for this request: `__Host-` prefixed when Secure."""
    return SECURE_PREFIX + base if is_secure(request) else base


def set_cookie(
    response: Response, request: Request, value: str, *, base: str = COOKIE, max_age: int | None = None
) -> None:
    """Set a console cookie: HttpOnly, SameSite=Lax, Path=/, Secure (and __Host-) when served over https."""
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )


def clear_cookie(response: Response, request: Request, *, base: str = COOKIE) -> None:
    """Remove a console cookie from the browser."""
    response.delete_cookie(
        cookie_name(request, base), path="/", httponly=True, samesite="lax", secure=is_secure(request)
    )


def client_addr(request: Request) -> str:
    """The client's address as uvicorn saw it (behind a proxy: from X-Forwarded-For of trusted proxies only)."""
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class Visit:
    """A logged-in person on this request: the Actor services take, and what the pages need to act."""

    actor: Actor
    account_id: int
    session_id: int
    csrf: str

    @property
    def username(self) -> str:
        """The person's name (the account's username, the same as their on-call user's id)."""
        return self.actor.name

    @property
    def role(self) -> Role:
        """The account's role, read at this request."""
        return self.actor.role

    def can(self, role: str) -> bool:
        """Whether the person has at least `role` (for showing or hiding buttons; the routes check again)."""
        return self.actor.role.level >= Role(role).level


def session_secret(request: Request) -> str | None:
    """The session id from this request's cookie, if any."""
    return request.cookies.get(cookie_name(request)) or None


def current_visit(request: Request, runtime: RuntimeDep) -> Visit:
    """The logged-in person, from the session cookie; LoginRequired (→ the login page) when there is none."""
    secret = session_secret(request)
    if secret is None:
        raise LoginRequired("Log in to continue.")
    now = runtime.clock.now()
    try:
        with runtime.db.session() as session:
            live = browser_sessions.find(session, secret, now=now)
        if live is None:
            raise LoginRequired("Your session has ended: log in again.")
        if browser_sessions.needs_touch(live, now):
            with runtime.db.transaction() as session:
                browser_sessions.touch(session, live.session_id, now=now)
    except OperationalError as exc:
        raise Unavailable("The database is unavailable; retry later.") from exc
    actor = Actor(name=live.username, role=Role(live.role), kind="person", remote_addr=client_addr(request))
    visit = Visit(
        actor=actor, account_id=live.account_id, session_id=live.session_id, csrf=browser_sessions.csrf_token(secret)
    )
    request.state.visit = visit
    return visit


async def offered_csrf(request: Request) -> str:
    """The CSRF token the request carries: the X-CSRF-Token header (htmx) or the form's csrf_token field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def acting(role: Role) -> Callable[..., Awaitable[Visit]]:
    """A dependency for a console action: a logged-in person (401), this session's CSRF token (403), `role` (403)."""

    async def dependency(request: Request, visit: Annotated[Visit, Depends(current_visit)]) -> Visit:
        secret = session_secret(request) or ""
        if not browser_sessions.csrf_matches(secret, await offered_csrf(request)):
            raise CsrfRefused("This form is out of date or did not come from warroom: reload the page and try again.")
        visit.actor.require(role)
        return visit

    dependency.__name__ = f"acting_{role.value}"
    return dependency


def viewing(role: Role) -> Callable[..., Visit]:
    """A dependency for a console page that needs at least `role` (most need only a login: Role.VIEWER)."""

    def dependency(visit: Annotated[Visit, Depends(current_visit)]) -> Visit:
        visit.actor.require(role)
        return visit

    dependency.__name__ = f"viewing_{role.value}"
    return dependency


Person = Annotated[Visit, Depends(viewing(Role.VIEWER))]
"""A console page any logged-in person may see."""
AdminPerson = Annotated[Visit, Depends(viewing(Role.ADMIN))]
"""A console page only admins may see."""
RespondingPerson = Annotated[Visit, Depends(acting(Role.RESPONDER))]
"""A console action of a responder (or admin), with its CSRF token checked."""
AdminActing = Annotated[Visit, Depends(acting(Role.ADMIN))]
"""A console action of an admin, with its CSRF token checked."""
AnyoneActing = Annotated[Visit, Depends(acting(Role.VIEWER))]
"""A console action any logged-in person may take (log out), with its CSRF token checked."""


def actor_of(visit: Visit) -> Actor:
    """The Actor the services record (kind "person", the person's name)."""
    return visit.actor
