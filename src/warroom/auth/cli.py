"""`warroom token ...` (on the database directly, for bootstrapping) and `warroom audit` (through the API)."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import typer

from warroom.client import ApiClient
from warroom.cliutil import DataDirOption, console, handle_errors, print_json, server_settings, table, when

if TYPE_CHECKING:
    from warroom.auth.actor import Actor

# The token commands work on the database: they import the service, the models and the server's start-up
# inside each command, so that `warroom audit` (a client of the API) stays quick to start.


def _operator() -> Actor:
    """Who runs a server-side command: the operating-system user, for the audit log."""
    from warroom.auth.actor import Actor, Role

    return Actor(name=f"cli:{getpass.getuser()}", role=Role.ADMIN, kind="system")


token_app = typer.Typer(help="Issue, list and revoke API tokens (runs on the server's database).", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@token_app.command("create")
@handle_errors
def create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses it.")],
    role: Annotated[str, typer.Option("--role", help="viewer, responder or admin.")] = "responder",
    as_json: JsonOpt = False,
    data_dir: DataDirOption = None,
) -> None:
    """Create a token; it is printed once and stored hashed."""
    from warroom.auth import service
    from warroom.auth.schemas import TokenRead
    from warroom.server import prepare

    runtime = prepare(server_settings(data_dir))
    with runtime.db.transaction() as session:
        now = runtime.clock.now()
        operator = _operator()
        token, plaintext = service.create_token(
            session, name=name, role=service.parse_role(role), created_by=operator.name, now=now
        )
        service.record(
            session,
            operator,
            "token.create",
            f"token:{token.id}",
            now=now,
            detail={"name": token.name, "role": token.role, "via": "cli"},
        )
    if as_json:
        print_json({**TokenRead.model_validate(token).model_dump(mode="json"), "token": plaintext})
    else:
        console.print(plaintext, markup=False, highlight=False)


@token_app.command("list")
@handle_errors
def list_(
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    as_json: JsonOpt = False,
    data_dir: DataDirOption = None,
) -> None:
    """List tokens (never their secrets)."""
    from warroom.auth import service
    from warroom.auth.schemas import TokenRead
    from warroom.server import prepare

    runtime = prepare(server_settings(data_dir))
    with runtime.db.session() as session:
        tokens = [TokenRead.model_validate(t) for t in service.list_tokens(session, include_revoked=include_revoked)]
    if as_json:
        print_json([t.model_dump(mode="json") for t in tokens])
        return
    table(
        None,
        ["id", "name", "role", "created", "by", "revoked"],
        [
            [
                t.id,
                t.name,
                t.role,
                when(t.created_at.isoformat()),
                t.created_by,
                when(t.revoked_at.isoformat()) if t.revoked_at else "-",
            ]
            for t in tokens
        ],
    )


@token_app.command("revoke")
@handle_errors
def revoke(
    ref: Annotated[str, typer.Argument(help="Token id or name.")],
    as_json: JsonOpt = False,
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a token; it stops working at once."""
    from warroom.auth import service
    from warroom.auth.schemas import TokenRead
    from warroom.server import prepare

    runtime = prepare(server_settings(data_dir))
    with runtime.db.transaction() as session:
        now = runtime.clock.now()
        token = service.revoke_token(session, service.get_token(session, ref), now=now)
        service.record(session, _operator(), "token.revoke", f"token:{token.id}", now=now, detail={"via": "cli"})
        read = TokenRead.model_validate(token)
    if as_json:
        print_json(read.model_dump(mode="json"))
    else:
        console.print(f"revoked token {read.id} ({read.name})", markup=False, highlight=False)


@handle_errors
def audit(
    limit: Annotated[int, typer.Option(help="How many entries, newest first.")] = 50,
    actor: Annotated[str | None, typer.Option(help="Only this token or user.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. incident.resolve.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the audit log (admin)."""
    entries = ApiClient().get("/api/v1/audit", limit=limit, actor=actor, action=action)
    if as_json:
        print_json(entries)
        return
    table(
        None,
        ["at", "who", "action", "target", "from"],
        [[when(e["at"]), e["actor"], e["action"], e["target"], e["remote_addr"]] for e in entries],
    )
