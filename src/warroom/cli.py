"""The `warroom` command. Server-side commands (serve, token, db, config) touch the database or files;
everything else is a client of the HTTP API (WARROOM_URL, WARROOM_TOKEN).

A client command imports only its own domain's CLI module: importing every domain (and through the
server-side commands, SQLAlchemy, the models and the app) took most of a second before `incident list`
sent its one request. `app` (what tests and the docs check use) is the whole command, built on first use."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from warroom import __version__
from warroom.cliutil import (
    DataDirOption,
    console,
    err_console,
    fail,
    follow_columns,
    handle_errors,
    print_json,
    server_settings,
)

# Each domain with a CLI adds (module, attribute, command name) here.
SUB_APPS = (
    ("warroom.auth.cli", "token_app", "token"),
    ("warroom.incidents.cli", "app", "incident"),
    ("warroom.reports.cli", "app", "export"),
    ("warroom.reports.cli", "report_app", "report"),
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
    ("warroom.drills.cli", "app", "drill"),
    ("warroom.postmortems.cli", "postmortem_app", "postmortem"),
    ("warroom.postmortems.cli", "action_app", "action"),
    ("warroom.statuspage.cli", "component_app", "component"),
    ("warroom.statuspage.subscribers_cli", "app", "subscriber"),
)
# Modules that add commands to another domain's group (`incident escalate|pages` come from on-call).
EXTENDS: dict[str, tuple[str, ...]] = {"incident": ("warroom.oncall.cli",)}
# `incident publish` and `maintenance announce|announced|withdraw` come from the status page.
EXTENDS["incident"] += ("warroom.statuspage.cli",)
EXTENDS["maintenance"] = ("warroom.statuspage.cli",)
# `user set-password|invite|accounts|role|disable|enable`: console accounts, one person with the on-call user.
EXTENDS["user"] = ("warroom.web.cli",)

db_app = typer.Typer(help="Database administration (runs on the server's database).", no_args_is_help=True)
config_app = typer.Typer(help="The declarative config file (warroom.yaml).", no_args_is_help=True)


def _show_version(value: bool) -> None:
    if value:
        console.print(__version__)
        raise typer.Exit()


def _root(
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """warroom: self-hosted incident response."""
    follow_columns()


def build(only: str | None = None) -> typer.Typer:
    """The `warroom` command: every group, or only the group `only` (what one client command needs)."""
    root = typer.Typer(
        help="warroom: self-hosted incident response.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=True,
    )
    root.callback()(_root)
    root.command("version")(version)
    root.command("serve")(serve)
    root.add_typer(db_app, name="db")
    root.add_typer(config_app, name="config")
    if only is None or only == "audit":
        from warroom.auth.cli import audit

        root.command("audit")(audit)
    for module in EXTENDS.get(only or "", ()):
        importlib.import_module(module)
    if only is None:  # the whole command (docs check, completion): every group with its extensions
        for modules in EXTENDS.values():
            for module in modules:
                importlib.import_module(module)
    for module, attribute, name in SUB_APPS:
        if only is None or only == name:
            root.add_typer(getattr(importlib.import_module(module), attribute), name=name)
    if only is None or only == "config":
        _config_export()
    if only is None or only == "demo":
        root.command("demo")(importlib.import_module("warroom.demo.cli").demo)
    return root


def _config_export() -> None:
    if not any(c.name == "export" for c in config_app.registered_commands):
        config_app.command("export")(importlib.import_module("warroom.oncall.cli").config_export)


def __getattr__(name: str) -> Any:
    # `from warroom.cli import app`: the whole command, built once, on first use.
    if name == "app":
        whole = globals()["app"] = build()
        return whole
    raise AttributeError(name)


def version() -> None:
    """Print the version."""
    console.print(__version__)


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
    from warroom.config import Settings

    settings = Settings(**overrides)
    from warroom.engine.worker import EngineAlreadyRunning
    from warroom.server import PortUnavailable

    try:
        run(settings, migrate=migrate, engine=engine, workers=settings.workers)
    except (PortUnavailable, EngineAlreadyRunning) as exc:
        fail(str(exc))


@db_app.command("upgrade")
@handle_errors
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "heads",
    data_dir: DataDirOption = None,
) -> None:
    """Apply pending migrations and list the ones applied."""
    from warroom import db as dbmod

    settings = server_settings(data_dir, create=True)
    url = settings.resolved_database_url()
    if dbmod.is_sqlite(url):
        dbmod.make_private_dir(settings.data_dir)
    before = set(dbmod.pending_migrations(url))
    dbmod.upgrade(url, revision)
    applied = [r for r in before if r not in set(dbmod.pending_migrations(url))]
    ordered = [r for r, _done, _doc in dbmod.migration_status(url) if r in applied]
    if ordered:
        console.print(f"applied {len(ordered)} migration(s): {', '.join(ordered)}", highlight=False)
    else:
        console.print("database is up to date: nothing to apply", highlight=False)


@db_app.command("downgrade")
@handle_errors
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")],
    data_dir: DataDirOption = None,
) -> None:
    """Undo migrations down to REVISION."""
    from warroom import db as dbmod

    dbmod.downgrade(server_settings(data_dir).resolved_database_url(), revision)
    console.print(f"database downgraded to {revision}", highlight=False)


@db_app.command("status")
@handle_errors
def db_status(as_json: Annotated[bool, typer.Option("--json")] = False, data_dir: DataDirOption = None) -> None:
    """List every migration in the order it applies, applied or pending."""
    from warroom import db as dbmod

    status = dbmod.migration_status(server_settings(data_dir).resolved_database_url())
    if as_json:
        print_json(
            {
                "migrations": [{"revision": r, "applied": done, "description": doc} for r, done, doc in status],
                "pending": [r for r, done, _doc in status if not done],
            }
        )
        return
    for revision, done, doc in status:
        console.print(f"{'applied' if done else 'pending'}  {revision}  {doc}", markup=False, highlight=False)
    pending = sum(1 for _r, done, _doc in status if not done)
    console.print(f"{pending} pending" if pending else "up to date", highlight=False)


@config_app.command("check")
@handle_errors
def config_check(
    path: Annotated[Path | None, typer.Argument(help="Defaults to WARROOM_CONFIG.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report (for CI).")] = False,
) -> None:
    """Validate warroom.yaml: every problem in one pass, each with its line; warnings do not fail."""
    from warroom.config import ConfigProblem, Settings, check_config_text
    from warroom.configcheck import review

    target = path or Settings().config
    if target is None:
        fail("no config file: pass a path or set WARROOM_CONFIG", code=2)
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        found = [ConfigProblem(str(target), None, "", f"cannot read: {reason}")]
    else:
        parsed, root, found = check_config_text(text, str(target))
        if parsed is not None:
            found += review(parsed, root, str(target))
    problems = [p for p in found if p.level == "error"]
    warnings = [p for p in found if p.level != "error"]
    if as_json:
        print_json(
            {
                "path": str(target),
                "ok": not problems,
                "problems": [_problem_json(p) for p in problems],
                "warnings": [_problem_json(p) for p in warnings],
            }
        )
    else:
        for problem in problems:
            err_console.print(f"error: {problem}", markup=False, highlight=False)
        for warning in warnings:
            err_console.print(f"warning: {warning.message}", markup=False, highlight=False)
        if not problems:
            console.print(f"{target}: ok", markup=False, highlight=False)
    if problems:
        raise typer.Exit(1)


def _problem_json(problem: Any) -> dict[str, Any]:
    return {
        "level": problem.level,
        "line": problem.line,
        "location": problem.location,
        "message": problem.message,
    }


def main() -> None:
    """Entry point of the `warroom` command: builds only the group the command line names."""
    words = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    group = words[0] if words else None
    build(group if group in buildable_alone() else None)()


def buildable_alone() -> set[str]:
    """The first words `build(only=...)` makes a working command for.

    A root command (`serve`, `version`, ...) needs no group: building all of them costs a quarter of a second
    per start, paid by every `warroom serve` and client command."""
    return {name for _module, _attribute, name in SUB_APPS} | {"audit", "version", "serve", "db", "config", "demo"}


if __name__ == "__main__":
    main()
