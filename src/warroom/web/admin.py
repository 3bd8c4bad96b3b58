"""Console pages of the admin role: people and their roles, API tokens, and alert integrations with their
copy-paste sender configuration.

Every page takes `AdminPerson` and every action `AdminActing` (CSRF and role checked). A secret (an invite link,
a token, an integration key) is shown once, in the answer to the action that made it, never in a redirect, a
cookie or the log; the database keeps only its hash."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Form, Path, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from warroom.alerts import intake
from warroom.alerts import integrations as alert_integrations
from warroom.alerts.config import INTEGRATION_TYPES
from warroom.alerts.models import Integration
from warroom.auth import accounts
from warroom.auth import service as auth_service
from warroom.auth.actor import Role
from warroom.auth.models import Account
from warroom.deps import ReadSession, RuntimeDep, WriteSession
from warroom.errors import Conflict, InvalidInput, WarroomError
from warroom.runtime import Runtime
from warroom.web.actions import Entry, act, back
from warroom.web.errors import console_router
from warroom.web.integration_config import sender_configs
from warroom.web.people import oncall_user_of
from warroom.web.session import AdminActing, AdminPerson, Visit
from warroom.web.templating import NAV_ITEMS, NAV_ROLES, render

router = console_router()

NAV_ITEMS.append(("admin", "Admin", "/admin"))
NAV_ROLES["admin"] = Role.ADMIN.value

Name = Annotated[str, Path(max_length=100)]
Short = Annotated[str, Form(max_length=200)]
_NETLOC = re.compile(r"^([A-Za-z0-9.\-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(:[0-9]{1,5})?$")
ROLES = [r.value for r in Role]
# Integration types a person creates here ("monitor" is warroom's own, made by the monitors).
SENDER_TYPES = [t for t in INTEGRATION_TYPES if t != "monitor"]


def public_base(request: Request, runtime: Runtime) -> str:
    """The URL senders and people reach warroom at: WARROOM_PUBLIC_URL, else the address this page came from."""
    configured = (runtime.settings.public_url or "").strip()
    if configured:
        return configured.rstrip("/")
    root = str(request.scope.get("root_path", "")).rstrip("/")
    netloc = request.url.netloc
    if not _NETLOC.fullmatch(netloc):  # a Host header is the client's to write: only a plain host[:port] is echoed
        netloc = f"{runtime.settings.host}:{runtime.settings.port}"
    return f"{request.url.scheme}://{netloc}{root}"


# -- people ------------------------------------------------------------------------------------------------------


def _users_page(
    request: Request,
    session: Session,
    *,
    invite: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    rows = [
        {"account": a, "oncall": oncall_user_of(session, a.username) is not None}
        for a in accounts.list_accounts(session)
    ]
    context = {"nav": "admin", "tab": "users", "rows": rows, "roles": ROLES, "invite": invite, "error": error}
    return render(request, "admin/users.html", context, status=status)


@router.get("/admin")
def admin_home(request: Request, visit: AdminPerson) -> Response:
    """The admin section starts with its people."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return RedirectResponse(f"{root}/admin/users", status_code=303)


@router.get("/admin/users")
def users_page(request: Request, visit: AdminPerson, session: ReadSession) -> Response:
    """Every account: role, how it logs in, disabled or not, its on-call user; invite, change, disable."""
    return _users_page(request, session)


@router.post("/admin/users/invite")
def invite_user(
    request: Request,
    visit: AdminActing,
    session: WriteSession,
    runtime: RuntimeDep,
    username: Short = "",
    role: Annotated[str, Form(max_length=20)] = "responder",
) -> Response:
    """Create the account (or renew its invite) and show its one-time set-password link, once."""
    now = runtime.clock.now()

    def change() -> tuple[Entry, tuple[Account, str]]:
        chosen = auth_service.parse_role(role)
        account = accounts.get(session, username)
        if account is None:
            account = accounts.create(session, username=username, role=chosen, created_by=visit.username, now=now)
        elif account.disabled_at is not None:
            raise Conflict(f"{account.username!r} is disabled: enable the account first.", field="username")
        secret = accounts.invite(session, account, now=now)
        return Entry("account.invite", f"account:{account.username}", {"role": account.role}), (account, secret)

    def show(invited: tuple[Account, str]) -> Response:
        account, secret = invited
        link = f"{public_base(request, runtime)}/set-password?token={quote(secret)}"
        invite = {"username": account.username, "link": link, "expires": str(account.invite_expires_at)}
        return _users_page(request, session, invite=invite)

    return act(session, visit, now, change, show, _users_refused(request, session))


def _not_self(visit: Visit, account: Account, what: str) -> None:
    # An admin who demotes or disables themselves could leave nobody able to undo it.
    if account.id == visit.account_id:
        raise InvalidInput(f"You cannot {what} your own account here; another admin can.", field="username")


def _users_refused(request: Request, session: Session) -> Callable[[WarroomError], Response]:
    """The people page again, naming what is wrong with the action, with the error's status."""
    return lambda exc: _users_page(request, session, error=exc.detail, status=exc.status)


def _account_act(
    request: Request,
    session: Session,
    visit: Visit,
    now: datetime,
    username: str,
    change: Callable[[Account], tuple[str, str, dict[str, Any] | None]],
) -> Response:
    """An action on one account (`change` gives its audit action, message and detail); back to the people page.
    An unknown account or a refused change shows the people page again with why."""

    def on_account() -> tuple[Entry, str]:
        account = accounts.require(session, username)
        action, message, detail = change(account)
        return Entry(action, f"account:{account.username}", detail), message

    return act(session, visit, now, on_account, partial(back, "/admin/users"), _users_refused(request, session))


@router.post("/admin/users/{username}/role")
def change_role(
    username: Name,
    request: Request,
    visit: AdminActing,
    session: WriteSession,
    runtime: RuntimeDep,
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Change an account's role; it applies from the account's next request."""

    def change(account: Account) -> tuple[str, str, dict[str, Any]]:
        chosen = auth_service.parse_role(role)
        _not_self(visit, account, "change the role of")
        before = account.role
        accounts.set_role(account, chosen)
        return "account.role", f"{account.username} is now {chosen.value}.", {"from": before, "to": chosen.value}

    return _account_act(request, session, visit, runtime.clock.now(), username, change)


@router.post("/admin/users/{username}/disable")
def disable_user(
    username: Name, request: Request, visit: AdminActing, session: WriteSession, runtime: RuntimeDep
) -> Response:
    """Disable an account: it cannot log in, and every session it has ends now."""
    now = runtime.clock.now()

    def change(account: Account) -> tuple[str, str, None]:
        _not_self(visit, account, "disable")
        accounts.disable(session, account, now=now)
        return "account.disable", f"{account.username} is disabled; their sessions ended.", None

    return _account_act(request, session, visit, now, username, change)


@router.post("/admin/users/{username}/enable")
def enable_user(
    username: Name, request: Request, visit: AdminActing, session: WriteSession, runtime: RuntimeDep
) -> Response:
    """Let a disabled account log in again."""

    def change(account: Account) -> tuple[str, str, None]:
        accounts.enable(account)
        return "account.enable", f"{account.username} can log in again.", None

    return _account_act(request, session, visit, runtime.clock.now(), username, change)


@router.post("/admin/users/{username}/logout-everywhere")
def logout_user_everywhere(
    username: Name, request: Request, visit: AdminActing, session: WriteSession, runtime: RuntimeDep
) -> Response:
    """End every session of an account (a lost phone): they log in again on their next request."""
    now = runtime.clock.now()

    def change(account: Account) -> tuple[str, str, dict[str, Any]]:
        ended = accounts.revoke_sessions(session, account, now=now)
        plural = "s" if ended != 1 else ""
        message = f"{account.username} is logged out everywhere ({ended} session{plural} ended)."
        return "session.logout_everywhere", message, {"ended": ended}

    return _account_act(request, session, visit, now, username, change)


# -- API tokens --------------------------------------------------------------------------------------------------


def _tokens_page(
    request: Request,
    session: Session,
    *,
    created: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    tokens = auth_service.list_tokens(session, include_revoked=True)
    context = {"nav": "admin", "tab": "tokens", "tokens": tokens, "roles": ROLES, "created": created, "error": error}
    return render(request, "admin/tokens.html", context, status=status)


@router.get("/admin/tokens")
def tokens_page(request: Request, visit: AdminPerson, session: ReadSession) -> Response:
    """API tokens (never their secrets): name, role, who made it, revoked or not."""
    return _tokens_page(request, session)


@router.post("/admin/tokens")
def create_token(
    request: Request,
    visit: AdminActing,
    session: WriteSession,
    runtime: RuntimeDep,
    name: Short = "",
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Issue a token and show it, once."""
    now = runtime.clock.now()

    def change() -> tuple[Entry, dict[str, str]]:
        token, plaintext = auth_service.create_token(
            session, name=name, role=auth_service.parse_role(role), created_by=visit.username, now=now
        )
        detail = {"name": token.name, "role": token.role}
        return Entry("token.create", f"token:{token.id}", detail), {**detail, "token": plaintext}

    def show(created: dict[str, str]) -> Response:
        return _tokens_page(request, session, created=created)

    def refused(exc: WarroomError) -> Response:
        return _tokens_page(request, session, error=exc.detail, status=exc.status)

    return act(session, visit, now, change, show, refused)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    visit: AdminActing,
    session: WriteSession,
    runtime: RuntimeDep,
) -> Response:
    """Revoke a token: it stops working at once."""
    now = runtime.clock.now()

    def change() -> tuple[Entry, str]:
        token = auth_service.revoke_token(session, auth_service.get_token(session, str(token_id)), now=now)
        return Entry("token.revoke", f"token:{token.id}"), f"Token {token.name} is revoked."

    return act(session, visit, now, change, partial(back, "/admin/tokens"))


# -- integrations ------------------------------------------------------------------------------------------------


def _integrations_page(
    request: Request,
    session: Session,
    runtime: Runtime,
    *,
    shown: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    base = public_base(request, runtime)
    rows = [
        {"integration": i, "configs": sender_configs(base, i.type, None)}
        for i in alert_integrations.list_integrations(session, include_revoked=True)
    ]
    context = {
        "nav": "admin",
        "tab": "integrations",
        "rows": rows,
        "types": SENDER_TYPES,
        "base": base,
        "config_url": bool((runtime.settings.public_url or "").strip()),
        "shown": shown,
        "error": error,
    }
    return render(request, "admin/integrations.html", context, status=status)


@router.get("/admin/integrations")
def integrations_page(request: Request, visit: AdminPerson, session: ReadSession, runtime: RuntimeDep) -> Response:
    """Integrations, each with its sender's configuration built on the real URL (the key itself is shown only when
    it is made: at creation or rotation)."""
    return _integrations_page(request, session, runtime)


def _key_shown(request: Request, session: Session, runtime: Runtime, made: tuple[Integration, str]) -> Response:
    """The integrations page with a key that was just made, and its sender configuration, shown once."""
    integration, key = made
    base = public_base(request, runtime)
    shown = {
        "name": integration.name,
        "type": integration.type,
        "key": key,
        "configs": sender_configs(base, integration.type, key),
    }
    return _integrations_page(request, session, runtime, shown=shown)


def _integrations_refused(request: Request, session: Session, runtime: Runtime) -> Callable[[WarroomError], Response]:
    """The integrations page again, naming what is wrong with the action, with the error's status."""
    return lambda exc: _integrations_page(request, session, runtime, error=exc.detail, status=exc.status)


@router.post("/admin/integrations")
def create_integration(
    request: Request,
    visit: AdminActing,
    session: WriteSession,
    runtime: RuntimeDep,
    name: Short = "",
    type: Annotated[str, Form(max_length=20)] = "alertmanager",
    service: Short = "",
    severity: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Create an integration; its key and ready-to-paste configuration are shown once."""
    now = runtime.clock.now()

    def change() -> tuple[Entry, tuple[Integration, str]]:
        if not name.strip():
            raise InvalidInput("An integration needs a name.", field="name")
        if type.strip().lower() == "monitor":
            raise InvalidInput("`monitor` integrations are warroom's own; choose a sender type.", field="type")
        integration, key = alert_integrations.create_integration(
            session, name=name, type=type, created_by=visit.username, now=now, service=service, severity=severity
        )
        detail = {"name": integration.name, "type": integration.type, "via": "console"}
        return Entry("integration.create", f"integration:{integration.id}", detail), (integration, key)

    show = partial(_key_shown, request, session, runtime)
    return act(session, visit, now, change, show, _integrations_refused(request, session, runtime))


@router.post("/admin/integrations/{name}/rotate")
def rotate_integration(
    name: Name, request: Request, visit: AdminActing, session: WriteSession, runtime: RuntimeDep
) -> Response:
    """A new key (shown once, with the configuration); the old key stops working."""

    def change() -> tuple[Entry, tuple[Integration, str]]:
        integration, key = alert_integrations.rotate_key(session, alert_integrations.get_integration(session, name))
        return Entry("integration.rotate", f"integration:{integration.id}"), (integration, key)

    def show(made: tuple[Integration, str]) -> Response:
        intake.key_cache(runtime).invalidate()
        return _key_shown(request, session, runtime, made)

    refused = _integrations_refused(request, session, runtime)
    return act(session, visit, runtime.clock.now(), change, show, refused)


@router.post("/admin/integrations/{name}/revoke")
def revoke_integration(
    name: Name, request: Request, visit: AdminActing, session: WriteSession, runtime: RuntimeDep
) -> Response:
    """Revoke the integration's key: its sender is refused from now on."""
    now = runtime.clock.now()

    def change() -> tuple[Entry, str]:
        integration = alert_integrations.get_integration(session, name)
        alert_integrations.revoke_integration(session, integration, now=now)
        message = f"Integration {integration.name} is revoked; its sender is refused."
        return Entry("integration.revoke", f"integration:{integration.id}"), message

    def show(message: str) -> Response:
        intake.key_cache(runtime).invalidate()
        return back("/admin/integrations", message)

    return act(session, visit, now, change, show)
