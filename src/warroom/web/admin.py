"""Console pages of the admin role: people and their roles, API tokens, and alert integrations with their
copy-paste sender configuration.

Every page takes `AdminPerson` and every action `AdminActing` (CSRF and role checked). A secret (an invite link,
a token, an integration key) is shown once, in the answer to the action that made it, never in a redirect, a
cookie or the log; the database keeps only its hash."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Form, Path, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from warroom.alerts import intake
from warroom.alerts import integrations as alert_integrations
from warroom.alerts.config import INTEGRATION_TYPES
from warroom.auth import accounts
from warroom.auth import service as auth_service
from warroom.auth.actor import Role
from warroom.auth.models import Account
from warroom.deps import ReadSession, RuntimeDep, WriteSession
from warroom.errors import Conflict, InvalidInput, WarroomError
from warroom.runtime import Runtime
from warroom.web.errors import console_router
from warroom.web.integration_config import sender_configs
from warroom.web.people import oncall_user_of
from warroom.web.session import AdminActing, AdminPerson, Visit
from warroom.web.templating import NAV_ITEMS, NAV_ROLES, flash, render

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


def _back(path: str, message: str, level: str = "ok") -> Response:
    response = RedirectResponse(path, status_code=303)
    flash(response, message, level)
    return response


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
    try:
        chosen = auth_service.parse_role(role)
        account = accounts.get(session, username)
        if account is None:
            account = accounts.create(session, username=username, role=chosen, created_by=visit.username, now=now)
        elif account.disabled_at is not None:
            raise Conflict(f"{account.username!r} is disabled: enable the account first.", field="username")
        secret = accounts.invite(session, account, now=now)
    except WarroomError as exc:
        session.rollback()
        return _users_page(request, session, error=exc.detail, status=exc.status)
    auth_service.record(
        session, visit.actor, "account.invite", f"account:{account.username}", now=now, detail={"role": account.role}
    )
    session.commit()
    link = f"{public_base(request, runtime)}/set-password?token={quote(secret)}"
    invite = {"username": account.username, "link": link, "expires": str(account.invite_expires_at)}
    return _users_page(request, session, invite=invite)


def _account(session: Session, username: str) -> Account:
    return accounts.require(session, username)


def _not_self(visit: Visit, account: Account, what: str) -> None:
    # An admin who demotes or disables themselves could leave nobody able to undo it.
    if account.id == visit.account_id:
        raise InvalidInput(f"You cannot {what} your own account here; another admin can.", field="username")


def _account_action(request: Request, session: Session, exc: WarroomError) -> Response:
    session.rollback()
    return _users_page(request, session, error=exc.detail, status=exc.status)


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
    try:
        account = _account(session, username)
        chosen = auth_service.parse_role(role)
        _not_self(visit, account, "change the role of")
    except WarroomError as exc:
        return _account_action(request, session, exc)
    before = account.role
    accounts.set_role(account, chosen)
    now = runtime.clock.now()
    auth_service.record(
        session,
        visit.actor,
        "account.role",
        f"account:{account.username}",
        now=now,
        detail={"from": before, "to": chosen.value},
    )
    session.commit()
    return _back("/admin/users", f"{account.username} is now {chosen.value}.")


@router.post("/admin/users/{username}/disable")
def disable_user(
    username: Name, request: Request, visit: AdminActing, session: WriteSession, runtime: RuntimeDep
) -> Response:
    """Disable an account: it cannot log in, and every session it has ends now."""
    try:
        account = _account(session, username)
        _not_self(visit, account, "disable")
    except WarroomError as exc:
        return _account_action(request, session, exc)
    now = runtime.clock.now()
    accounts.disable(session, account, now=now)
    auth_service.record(session, visit.actor, "account.disable", f"account:{account.username}", now=now)
    session.commit()
    return _back("/admin/users", f"{account.username} is disabled; their sessions ended.")


@router.post("/admin/users/{username}/enable")
def enable_user(
    username: Name, request: Request, visit: AdminActing, session: WriteSession, runtime: RuntimeDep
) -> Response:
    """Let a disabled account log in again."""
    try:
        account = _account(session, username)
    except WarroomError as exc:
        return _account_action(request, session, exc)
    accounts.enable(account)
    auth_service.record(session, visit.actor, "account.enable", f"account:{account.username}", now=runtime.clock.now())
    session.commit()
    return _back("/admin/users", f"{account.username} can log in again.")


@router.post("/admin/users/{username}/logout-everywhere")
def logout_user_everywhere(
    username: Name, request: Request, visit: AdminActing, session: WriteSession, runtime: RuntimeDep
) -> Response:
    """End every session of an account (a lost phone): they log in again on their next request."""
    try:
        account = _account(session, username)
    except WarroomError as exc:
        return _account_action(request, session, exc)
    now = runtime.clock.now()
    ended = accounts.revoke_sessions(session, account, now=now)
    auth_service.record(
        session,
        visit.actor,
        "session.logout_everywhere",
        f"account:{account.username}",
        now=now,
        detail={"ended": ended},
    )
    session.commit()
    plural = "s" if ended != 1 else ""
    return _back("/admin/users", f"{account.username} is logged out everywhere ({ended} session{plural} ended).")


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
    try:
        token, plaintext = auth_service.create_token(
            session, name=name, role=auth_service.parse_role(role), created_by=visit.username, now=now
        )
    except WarroomError as exc:
        session.rollback()
        return _tokens_page(request, session, error=exc.detail, status=exc.status)
    auth_service.record(
        session,
        visit.actor,
        "token.create",
        f"token:{token.id}",
        now=now,
        detail={"name": token.name, "role": token.role},
    )
    session.commit()
    return _tokens_page(request, session, created={"name": token.name, "role": token.role, "token": plaintext})


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    visit: AdminActing,
    session: WriteSession,
    runtime: RuntimeDep,
) -> Response:
    """Revoke a token: it stops working at once."""
    token = auth_service.get_token(session, str(token_id))
    now = runtime.clock.now()
    auth_service.revoke_token(session, token, now=now)
    auth_service.record(session, visit.actor, "token.revoke", f"token:{token.id}", now=now)
    session.commit()
    return _back("/admin/tokens", f"Token {token.name} is revoked.")


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


def _shown(request: Request, runtime: Runtime, name: str, kind: str, key: str) -> dict[str, Any]:
    return {"name": name, "type": kind, "key": key, "configs": sender_configs(public_base(request, runtime), kind, key)}


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
    try:
        if not name.strip():
            raise InvalidInput("An integration needs a name.", field="name")
        if type.strip().lower() == "monitor":
            raise InvalidInput("`monitor` integrations are warroom's own; choose a sender type.", field="type")
        integration, key = alert_integrations.create_integration(
            session, name=name, type=type, created_by=visit.username, now=now, service=service, severity=severity
        )
    except WarroomError as exc:
        session.rollback()
        return _integrations_page(request, session, runtime, error=exc.detail, status=exc.status)
    auth_service.record(
        session,
        visit.actor,
        "integration.create",
        f"integration:{integration.id}",
        now=now,
        detail={"name": integration.name, "type": integration.type, "via": "console"},
    )
    session.commit()
    shown = _shown(request, runtime, integration.name, integration.type, key)
    return _integrations_page(request, session, runtime, shown=shown)


@router.post("/admin/integrations/{name}/rotate")
def rotate_integration(
    name: Name, request: Request, visit: AdminActing, session: WriteSession, runtime: RuntimeDep
) -> Response:
    """A new key (shown once, with the configuration); the old key stops working."""
    now = runtime.clock.now()
    try:
        integration, key = alert_integrations.rotate_key(session, alert_integrations.get_integration(session, name))
    except WarroomError as exc:
        session.rollback()
        return _integrations_page(request, session, runtime, error=exc.detail, status=exc.status)
    auth_service.record(session, visit.actor, "integration.rotate", f"integration:{integration.id}", now=now)
    session.commit()
    intake.key_cache(runtime).invalidate()
    shown = _shown(request, runtime, integration.name, integration.type, key)
    return _integrations_page(request, session, runtime, shown=shown)


@router.post("/admin/integrations/{name}/revoke")
def revoke_integration(
    name: Name, request: Request, visit: AdminActing, session: WriteSession, runtime: RuntimeDep
) -> Response:
    """Revoke the integration's key: its sender is refused from now on."""
    now = runtime.clock.now()
    integration = alert_integrations.revoke_integration(
        session, alert_integrations.get_integration(session, name), now=now
    )
    auth_service.record(session, visit.actor, "integration.revoke", f"integration:{integration.id}", now=now)
    session.commit()
    intake.key_cache(runtime).invalidate()
    return _back("/admin/integrations", f"Integration {integration.name} is revoked; its sender is refused.")
