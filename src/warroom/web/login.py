"""Console routes for getting in and out: `/`, log in, log out (here or everywhere), set a password, your sessions."""

from __future__ import annotations

import re
import secrets
from typing import Annotated

import structlog
from fastapi import Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from warroom.auth import accounts
from warroom.auth import service as auth_service
from warroom.auth import sessions as browser_sessions
from warroom.auth.actor import Actor, Role
from warroom.auth.models import Account
from warroom.deps import ReadSession, RuntimeDep, WriteSession
from warroom.errors import InvalidInput, Unauthorized
from warroom.runtime import Runtime
from warroom.web.errors import console_router, error_page
from warroom.web.people import oncall_user_of
from warroom.web.session import (
    AnyoneActing,
    Person,
    clear_cookie,
    client_addr,
    cookie_name,
    session_secret,
    set_cookie,
)
from warroom.web.templating import flash, render

log = structlog.get_logger("warroom.web")
router = console_router()

HOME = "/incidents"
# The login form's own CSRF token (there is no session yet): a random value in a cookie and in the form, which
# a page on another site can neither read nor set, so it cannot log a victim in to the attacker's account.
LOGIN_COOKIE = "warroom_login"
_SAFE_NEXT = re.compile(r"^/[A-Za-z0-9/_\-.~%?=&+]*$")

Text = Annotated[str, Form(max_length=2048)]


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path of ours, never another site (`//evil`, `/\\evil`, `https:`)."""
    if value and _SAFE_NEXT.match(value) and not value.startswith("//") and value != "/login":
        return value
    return HOME


def _visitor(request: Request, runtime: Runtime) -> browser_sessions.LiveSession | None:
    secret = session_secret(request)
    if secret is None:
        return None
    with runtime.db.session() as session:
        return browser_sessions.find(session, secret, now=runtime.clock.now())


def _login_page(
    request: Request, *, next_path: str, username: str = "", error: str | None = None, status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    oidc = getattr(request.app.state.runtime.config, "oidc", None)
    response = render(
        request,
        "login.html",
        {
            "login_csrf": token,
            "next": next_path,
            "username": username,
            "error": error,
            "sso_name": oidc.name if oidc is not None else None,
        },
        status=status,
    )
    set_cookie(response, request, token, base=LOGIN_COOKIE, max_age=3600)
    return response


def _login_csrf_ok(request: Request, offered: str) -> bool:
    expected = request.cookies.get(cookie_name(request, LOGIN_COOKIE), "")
    return bool(expected) and accounts.same_secret(expected, offered)


def _start(request: Request, session: WriteSession, runtime: Runtime, account: Account, action: str) -> str:
    now = runtime.clock.now()
    _row, secret = browser_sessions.start(
        session, account, now=now, remote_addr=client_addr(request), user_agent=request.headers.get("user-agent")
    )
    actor = accounts.actor_for(account, remote_addr=client_addr(request))
    auth_service.record(session, actor, action, f"account:{account.username}", now=now)
    return secret


# For the single sign-on routes (web/sso.py), which end on the same login page and start the same sessions.
login_page = _login_page
start_session = _start


@router.get("/")
def home(request: Request, runtime: RuntimeDep) -> Response:
    """The incident list when logged in, the login page otherwise."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return RedirectResponse(root + (HOME if _visitor(request, runtime) else "/login"), status_code=303)


@router.get("/login")
def login_form(
    request: Request, runtime: RuntimeDep, next: Annotated[str | None, Query(max_length=2048)] = None
) -> Response:
    """The login form (or straight on, when this browser is logged in already)."""
    if _visitor(request, runtime) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_path=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    session: WriteSession,
    runtime: RuntimeDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=2048)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    """Check the password; on success start a session (cookie) and go to `next`."""
    target = safe_next(next)
    if not _login_csrf_ok(request, csrf_token):
        return _login_page(
            request,
            next_path=target,
            username=username[:100],
            error="The login form was out of date (or cookies are blocked): try again.",
            status=403,
        )
    try:
        account = accounts.login_with_password(
            session, username=username, password=password, remote_addr=client_addr(request), now=runtime.clock.now()
        )
    except accounts.TooManyAttempts as exc:
        session.rollback()
        log.warning("login refused: rate limit", username=username[:100], remote_addr=client_addr(request))
        return _login_page(request, next_path=target, username=username[:100], error=exc.detail, status=429)
    except Unauthorized as exc:
        session.commit()  # the failure counts towards the limits
        log.info("login refused", username=username[:100], remote_addr=client_addr(request))
        return _login_page(request, next_path=target, username=username[:100], error=exc.detail, status=401)
    secret = _start(request, session, runtime, account, "session.login")
    session.commit()
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, secret)
    clear_cookie(response, request, base=LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, visit: AnyoneActing, session: WriteSession, runtime: RuntimeDep) -> Response:
    """End this browser's session."""
    now = runtime.clock.now()
    browser_sessions.end(session, visit.session_id, now=now)
    auth_service.record(session, visit.actor, "session.logout", f"account:{visit.username}", now=now)
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    clear_cookie(response, request)
    flash(response, "You are logged out.", "ok")
    return response


@router.post("/logout-everywhere")
def logout_everywhere(request: Request, visit: AnyoneActing, session: WriteSession, runtime: RuntimeDep) -> Response:
    """End every session of this account, on every browser (a lost phone, a shared computer)."""
    now = runtime.clock.now()
    account = session.get(Account, visit.account_id)
    ended = accounts.revoke_sessions(session, account, now=now) if account is not None else 0
    auth_service.record(
        session, visit.actor, "session.logout_everywhere", f"account:{visit.username}", now=now, detail={"ended": ended}
    )
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    clear_cookie(response, request)
    flash(response, f"Logged out everywhere ({ended} session{'s' if ended != 1 else ''} ended).", "ok")
    return response


@router.get("/account")
def account_page(request: Request, visit: Person, session: ReadSession, runtime: RuntimeDep) -> Response:
    """The person's own account: role, the on-call user it is, and the browsers logged in as it."""
    live = browser_sessions.list_live(session, visit.account_id, now=runtime.clock.now())
    oncall = oncall_user_of(session, visit.username)
    return render(
        request, "account.html", {"sessions": live, "oncall_user": oncall.id if oncall else None, "nav": "account"}
    )


def _set_password_page(
    request: Request, token: str, username: str, error: str | None = None, status: int = 200
) -> Response:
    login_csrf = secrets.token_urlsafe(24)
    response = render(
        request,
        "set_password.html",
        {
            "token": token,
            "username": username,
            "error": error,
            "login_csrf": login_csrf,
            "min_password": accounts.MIN_PASSWORD,
        },
        status=status,
    )
    set_cookie(response, request, login_csrf, base=LOGIN_COOKIE, max_age=3600)
    return response


@router.get("/set-password")
def set_password_form(
    request: Request, session: ReadSession, runtime: RuntimeDep, token: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    """The page an invite link opens: choose a password."""
    account = _invited(request, session, runtime, token)
    if isinstance(account, Response):
        return account
    return _set_password_page(request, token, account.username)


def _invited(request: Request, session: Session, runtime: Runtime, token: str) -> Account | Response:
    # A dead link is a page saying so, not the login redirect: that would carry the link's secret in `next`.
    try:
        return accounts.account_for_invite(session, token, now=runtime.clock.now())
    except Unauthorized as exc:
        return error_page(request, 404, exc.detail)


@router.post("/set-password")
def set_password(
    request: Request,
    session: WriteSession,
    runtime: RuntimeDep,
    token: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=2048)] = "",
    password2: Annotated[str, Form(max_length=2048)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Use an invite: set the password, spend the link, and log in."""
    now = runtime.clock.now()
    account = _invited(request, session, runtime, token)
    if isinstance(account, Response):
        return account
    if not _login_csrf_ok(request, csrf_token):
        return _set_password_page(request, token, account.username, "The form was out of date: try again.", 403)
    try:
        if password != password2:
            raise InvalidInput("The two passwords differ.", field="password2")
        accounts.set_password(session, account, password, now=now)
    except InvalidInput as exc:
        return _set_password_page(request, token, account.username, exc.detail, 422)
    actor = Actor(name=account.username, role=Role(account.role), kind="person", remote_addr=client_addr(request))
    auth_service.record(
        session, actor, "account.set_password", f"account:{account.username}", now=now, detail={"via": "invite"}
    )
    secret = _start(request, session, runtime, account, "session.login")
    session.commit()
    response = RedirectResponse(HOME, status_code=303)
    set_cookie(response, request, secret)
    clear_cookie(response, request, base=LOGIN_COOKIE)
    flash(response, "Your password is set; you are logged in.", "ok")
    return response
