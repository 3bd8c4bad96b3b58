"""`warroom engine`: run an engine alone (no HTTP), or list the jobs it has to do."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from warroom.cliutil import DataDirOption, console, handle_errors, print_json, server_settings, table, when

app = typer.Typer(
    help="The background engine: `warroom engine` runs one (no HTTP); `warroom engine jobs` lists its work.",
    invoke_without_command=True,
)


@app.callback()
@handle_errors
def run(
    ctx: typer.Context,
    migrate: Annotated[bool, typer.Option("--migrate/--no-migrate", help="Apply pending migrations first.")] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            envvar="WARROOM_ENGINE_METRICS_PORT",
            help="Serve this engine's /metrics and /ready on WARROOM_HOST:PORT (WARROOM_ENGINE_METRICS_PORT).",
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run an engine until SIGINT/SIGTERM (on PostgreSQL any number may run; on SQLite exactly one)."""
    if ctx.invoked_subcommand is not None:
        return
    from warroom.cliutil import fail
    from warroom.engine.worker import EngineAlreadyRunning
    from warroom.server import PortUnavailable, run_engine

    try:
        run_engine(server_settings(data_dir, create=migrate), migrate=migrate, metrics_port=metrics_port)
    except (EngineAlreadyRunning, PortUnavailable) as exc:
        fail(str(exc))


@app.command("jobs")
@handle_errors
def list_jobs(
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind, e.g. oncall.step.")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """List jobs waiting to run, earliest first (reads the server's database directly)."""
    from warroom.db import Database
    from warroom.engine import jobs

    settings = server_settings(data_dir)
    database = Database(
        settings.resolved_database_url(),
        pool_size=1,
        sqlite_synchronous=settings.sqlite_synchronous,
        timeouts=settings.database_timeouts(),
    )
    try:
        with database.session() as session:
            rows = jobs.pending(session, kind)[:limit]
            data: list[dict[str, Any]] = [
                {
                    "kind": j.kind,
                    "key": j.key,
                    "due_at": j.due_at.isoformat(),
                    "state": j.state,
                    "attempts": j.attempts,
                    "last_error": j.last_error,
                }
                for j in rows
            ]
    finally:
        database.dispose()
    if as_json:
        print_json(data)
        return
    table(
        None,
        ["kind", "key", "due", "state", "tries", "last error"],
        [[j["kind"], j["key"], when(j["due_at"]), j["state"], j["attempts"], j["last_error"]] for j in data],
    )
    if not data:
        console.print("no jobs waiting", highlight=False)
