"""`warroom user set-password|invite|accounts|role|disable|enable`: console accounts (on the server's database).

They join the `user` group of on-call people, because a console account and the on-call user of the same name
are one person (web/people.py says whether that user exists yet)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

import typer

from warroom.cliutil import DataDirOption, console, fail, handle_errors, print_json, server_settings, table, when
from warroom.oncall.cli import user_app

if TYPE_CHECKING:
    from warroom.auth.actor import Actor
    from warroom.runtime import Runtime

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _operator() -> Actor:
    """Who runs a server-side command: the operating-system user, for the audit log."""
    from warroom.auth.actor import Actor, Role

    return Actor(name=f"cli:{getpass.getuser()}", role=Role.ADMIN, kind="system")


def _runtime(data_dir: Path | None) -> Runtime:
    from warroom.server import prepare

    return prepare(server_settings(data_dir))


def _base_url(runtime: Runtime) -> str:
    settings = runtime.settings
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def _read_new_password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("New password: ")
    second = getpass.getpass("The same again: ")
    if first != second:
        fail("the two passwords differ; nothing changed")
    return first


@user_app.command("set-password")
@handle_errors
def set_password(
    username: Annotated[str, typer.Argument(help="The account's username (created as a responder if new).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin (no prompt).")
    ] = False,
    role: Annotated[str, typer.Option("--role", help="Role if the account is new: viewer, responder or admin.")] = (
        "responder"
    ),
    data_dir: DataDirOption = None,
) -> None:
    """Set a console account's password (prompted twice), creating the account if it does not exist."""
    from warroom.auth import accounts
    from warroom.auth import service as auth_service
    from warroom.web.people import link_note

    password = accounts.check_password(_read_new_password(password_stdin))
    runtime = _runtime(data_dir)
    operator = _operator()
    with runtime.db.transaction() as session:
        now = runtime.clock.now()
        account = accounts.get(session, username)
        created = account is None
        if account is None:
            account = accounts.create(
                session, username=username, role=auth_service.parse_role(role), created_by=operator.name, now=now
            )
        accounts.set_password(session, account, password, now=now)
        auth_service.record(
            session,
            operator,
            "account.create" if created else "account.set_password",
            f"account:{account.username}",
            now=now,
            detail={"via": "cli", "role": account.role},
        )
        note = link_note(session, account.username)
    verb = "created" if created else "changed the password of"
    console.print(f"{verb} {account.username} ({account.role}); {note}", markup=False, highlight=False)


@user_app.command("invite")
@handle_errors
def invite(
    username: Annotated[str, typer.Argument(help="The username (the same id as their on-call user).")],
    role: Annotated[str, typer.Option("--role", help="viewer, responder or admin.")] = "responder",
    as_json: JsonOpt = False,
    data_dir: DataDirOption = None,
) -> None:
    """Create a console account (or renew its invite) and print a one-time set-password link (valid 3 days)."""
    from warroom.auth import accounts
    from warroom.auth import service as auth_service
    from warroom.web.people import link_note

    runtime = _runtime(data_dir)
    operator = _operator()
    parsed_role = auth_service.parse_role(role)
    with runtime.db.transaction() as session:
        now = runtime.clock.now()
        account = accounts.get(session, username)
        if account is None:
            account = accounts.create(session, username=username, role=parsed_role, created_by=operator.name, now=now)
        else:
            accounts.set_role(account, parsed_role)
        secret = accounts.invite(session, account, now=now)
        auth_service.record(
            session, operator, "account.invite", f"account:{account.username}", now=now, detail={"role": account.role}
        )
        note = link_note(session, account.username)
        expires = account.invite_expires_at
    link = f"{_base_url(runtime)}/set-password?token={quote(secret)}"
    if as_json:
        print_json({"username": account.username, "role": account.role, "link": link, "expires_at": str(expires)})
        return
    console.print(f"invited {account.username} ({account.role}); {note}", markup=False, highlight=False)
    console.print(f"one-time link, valid until {when(str(expires))}:", markup=False, highlight=False)
    console.print(link, markup=False, highlight=False, soft_wrap=True)


@user_app.command("accounts")
@handle_errors
def list_accounts(as_json: JsonOpt = False, data_dir: DataDirOption = None) -> None:
    """List console accounts: role, how they log in, disabled or not, and their on-call user."""
    from warroom.auth import accounts
    from warroom.web.people import oncall_user_of

    runtime = _runtime(data_dir)
    with runtime.db.session() as session:
        rows = [
            {
                "username": a.username,
                "role": a.role,
                "password": a.password_hash is not None,
                "oidc": a.oidc_subject is not None,
                "disabled_at": a.disabled_at.isoformat() if a.disabled_at else None,
                "oncall_user": oncall_user_of(session, a.username) is not None,
            }
            for a in accounts.list_accounts(session)
        ]
    if as_json:
        print_json(rows)
        return
    table(
        None,
        ["username", "role", "logs in with", "disabled", "on-call user"],
        [
            [
                r["username"],
                r["role"],
                ", ".join(k for k in ("password", "oidc") if r[k]) or "invite pending",
                when(str(r["disabled_at"])) if r["disabled_at"] else "-",
                "yes" if r["oncall_user"] else "no",
            ]
            for r in rows
        ],
    )


@user_app.command("role")
@handle_errors
def set_role(
    username: str,
    role: Annotated[str, typer.Argument(help="viewer, responder or admin.")],
    data_dir: DataDirOption = None,
) -> None:
    """Change a console account's role (it applies from its next request)."""
    from warroom.auth import accounts
    from warroom.auth import service as auth_service

    runtime = _runtime(data_dir)
    with runtime.db.transaction() as session:
        now = runtime.clock.now()
        account = accounts.set_role(accounts.require(session, username), auth_service.parse_role(role))
        auth_service.record(
            session, _operator(), "account.role", f"account:{account.username}", now=now, detail={"role": account.role}
        )
    console.print(f"{account.username} is now {account.role}", markup=False, highlight=False)


@user_app.command("disable")
@handle_errors
def disable(username: str, data_dir: DataDirOption = None) -> None:
    """Disable a console account: it cannot log in, and its sessions end now."""
    from warroom.auth import accounts
    from warroom.auth import service as auth_service

    runtime = _runtime(data_dir)
    with runtime.db.transaction() as session:
        now = runtime.clock.now()
        account = accounts.disable(session, accounts.require(session, username), now=now)
        auth_service.record(session, _operator(), "account.disable", f"account:{account.username}", now=now)
    console.print(f"disabled {account.username}; its sessions ended", markup=False, highlight=False)


@user_app.command("enable")
@handle_errors
def enable(username: str, data_dir: DataDirOption = None) -> None:
    """Let a disabled console account log in again."""
    from warroom.auth import accounts
    from warroom.auth import service as auth_service

    runtime = _runtime(data_dir)
    with runtime.db.transaction() as session:
        now = runtime.clock.now()
        account = accounts.enable(accounts.require(session, username))
        auth_service.record(session, _operator(), "account.enable", f"account:{account.username}", now=now)
    console.print(f"enabled {account.username}", markup=False, highlight=False)
