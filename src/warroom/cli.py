"""The `warroom` command. Server-side commands (serve, token, db, config) touch the database or files;
everything else is a client of the HTTP API (WARROOM_URL, WARROOM_TOKEN)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any

import typer

from warroom import __version__
from warroom import db as dbmod
from warroom.auth.cli import audit, token_app
from warroom.cliutil import console, handle_errors, print_json
from warroom.config import Settings, load_config_file

app = typer.Typer(
    help="warroom: self-hosted incident response.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each domain with a CLI adds (module, attribute, command name) here.
SUB_APPS = (
    ("warroom.incidents.cli", "app", "incident"),
    ("warroom.reports.cli", "app", "export"),
    ("warroom.runbooks.cli", "app", "runbook"),
    ("warroom.alerts.cli", "integration_app", "integration"),
    ("warroom.alerts.cli", "alert_app", "alert"),
    ("warroom.alerts.cli", "route_app", "route"),
    ("warroom.alerts.cli", "silence_app", "silence"),
    ("warroom.alerts.cli", "maintenance_app", "maintenance"),
    ("warroom.monitors.cli", "app", "monitor"),
    ("warroom.oncall.cli", "user_app", "user"),
    ("warroom.oncall.cli", "team_app", "team"),
    ("warroom.oncall.cli", "oncall_app", "oncall"),
    ("warroom.oncall.cli", "policy_app", "policy"),
    ("warroom.engine.cli", "app", "engine"),
)

app.add_typer(token_app, name="token")
app.command("audit")(audit)
for _module, _attr, _name in SUB_APPS:
    app.add_typer(getattr(importlib.import_module(_module), _attr), name=_name)

db_app = typer.Typer(help="Database administration (runs on the server's database).", no_args_is_help=True)
app.add_typer(db_app, name="db")
config_app = typer.Typer(help="The declarative config file (warroom.yaml).", no_args_is_help=True)
app.add_typer(config_app, name="config")
config_app.command("export")(importlib.import_module("warroom.oncall.cli").config_export)
app.command("demo")(importlib.import_module("warroom.demo.cli").demo)


@app.command("version")
def version() -> None:
    """Print the version."""
    console.print(__version__)


@app.command("serve")
@handle_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (default 127.0.0.1, WARROOM_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default 8080, WARROOM_PORT).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data folder (default ./data, WARROOM_DATA_DIR).")] = None,
    migrate: Annotated[bool, typer.Option("--migrate/--no-migrate", help="Apply pending migrations first.")] = True,
    engine: Annotated[bool, typer.Option("--engine/--no-engine", help="Run an engine in this process.")] = True,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="API processes sharing the port (default 1, WARROOM_WORKERS); one runs the engine."),
    ] = None,
) -> None:
    """Run the API server (with an engine unless --no-engine)."""
    from warroom.server import serve as run

    overrides: dict[str, Any] = {
        k: v for k, v in {"host": host, "port": port, "data_dir": data_dir, "workers": workers}.items() if v is not None
    }
    settings = Settings(**overrides)
    run(settings, migrate=migrate, engine=engine, workers=settings.workers)


@db_app.command("upgrade")
@handle_errors
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "heads") -> None:
    """Apply pending migrations."""
    settings = Settings()
    url = settings.resolved_database_url()
    if dbmod.is_sqlite(url):
        dbmod.make_private_dir(settings.data_dir)
    dbmod.upgrade(url, revision)
    console.print("database is up to date", highlight=False)


@db_app.command("downgrade")
@handle_errors
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")]) -> None:
    """Undo migrations down to REVISION."""
    dbmod.downgrade(Settings().resolved_database_url(), revision)
    console.print(f"database downgraded to {revision}", highlight=False)


@db_app.command("status")
@handle_errors
def db_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List migrations not applied yet."""
    pending = dbmod.pending_migrations(Settings().resolved_database_url())
    if as_json:
        print_json({"pending": pending})
    else:
        console.print("pending: " + (", ".join(pending) if pending else "none"), highlight=False)


@config_app.command("check")
@handle_errors
def config_check(path: Annotated[Path | None, typer.Argument(help="Defaults to WARROOM_CONFIG.")] = None) -> None:
    """Validate warroom.yaml; every problem is printed with its line."""
    target = path or Settings().config
    if target is None:
        raise typer.BadParameter("no config file: pass a path or set WARROOM_CONFIG")
    load_config_file(target)
    console.print(f"{target}: ok", highlight=False)


def main() -> None:
    """Entry point of the `warroom` command."""
    app()


if __name__ == "__main__":
    main()
