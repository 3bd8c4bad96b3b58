"""Starting warroom: logging, migrations, the first admin token, the HTTP server."""

from __future__ import annotations

import gc
import os
import socket
import sys
from pathlib import Path
from typing import Any

import structlog

from warroom import db as dbmod
from warroom import logs
from warroom.auth import service as auth_service
from warroom.auth.actor import SYSTEM, Role
from warroom.config import Settings
from warroom.runtime import Runtime
from warroom.secretpaths import install_access_log_redaction

log = structlog.get_logger("warroom")


def configure_logging(settings: Settings) -> None:
    """structlog and the stdlib to stderr, console or JSON lines, redacted (see warroom.logs)."""
    logs.configure(settings.log_level, settings.log_format)
    # Whoever turns uvicorn's access log on (`uvicorn --factory warroom.server:worker_app` does by default)
    # gets paths with intake keys, link and heartbeat tokens masked.
    install_access_log_redaction()


def prepare(settings: Settings, *, migrate: bool = True) -> Runtime:
    """A runtime for server-side work, with the database migrated unless told not to."""
    url = settings.resolved_database_url()
    if dbmod.is_sqlite(url):
        dbmod.make_private_dir(settings.data_dir)
    if migrate:
        dbmod.upgrade(url)
    return Runtime.from_settings(settings)


def ensure_admin_token(runtime: Runtime) -> Path | None:
    """On a database with no token at all, create an admin token and write it (0600) to DATA_DIR/admin-token."""
    with runtime.db.transaction() as session:
        if auth_service.count_tokens(session) > 0:
            return None
        now = runtime.clock.now()
        token, plaintext = auth_service.create_token(
            session, name="admin", role=Role.ADMIN, created_by=SYSTEM.name, now=now
        )
        auth_service.record(
            session,
            SYSTEM,
            "token.create",
            f"token:{token.id}",
            now=now,
            detail={"name": "admin", "role": "admin", "first_start": True},
        )
        dbmod.make_private_dir(runtime.settings.data_dir)
        path = runtime.settings.data_dir / "admin-token"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(plaintext + "\n")
        os.chmod(path, 0o600)
    return path


def show_first_account(runtime: Runtime, settings: Settings) -> Path | None:
    """On a database with no console account, create `admin` with a random password (only its argon2 hash is
    stored) and show the password once: printed to the terminal when stdout is one, never to the log. When
    stdout is not a terminal (a service manager, a container, the demo), it may be captured into a log file, so
    the password goes to DATA_DIR/admin-password (0600) instead and the log says where; returns that path."""
    from warroom.auth import accounts

    with runtime.db.transaction() as session:
        now = runtime.clock.now()
        password = accounts.create_first_admin(session, now=now, created_by=SYSTEM.name)
        if password is None:
            return None
        auth_service.record(
            session, SYSTEM, "account.create", f"account:{accounts.FIRST_ADMIN}", now=now, detail={"first_start": True}
        )
    url = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    if sys.stdout.isatty():
        print(
            "\n"
            "  First start: created the console account `admin` (role admin). Shown once, not logged:\n"
            f"    username: {accounts.FIRST_ADMIN}\n"
            f"    password: {password}\n"
            f"  Open {url} and log in; change it with `warroom user set-password admin`.\n",
            flush=True,
        )
        return None
    dbmod.make_private_dir(settings.data_dir)
    path = settings.data_dir / "admin-password"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(password + "\n")
    os.chmod(path, 0o600)
    log.info(
        "created the console account admin; its password is in a file (stdout is not a terminal)",
        path=str(path.resolve()),
        hint=f"log in at {url}, then delete the file or run `warroom user set-password admin`",
    )
    return path


def open_to_others(settings: Settings) -> list[tuple[str, Path, int, str]]:
    """The data folder and database files whose mode lets other local users in: (what, path, mode, fix)."""
    found: list[tuple[str, Path, int, str]] = []
    folder = settings.data_dir.resolve()
    if folder.is_dir() and folder.stat().st_mode & 0o077:
        found.append(("the data folder", folder, folder.stat().st_mode & 0o777, f"chmod 700 {folder}"))
    database = dbmod.sqlite_path(settings.resolved_database_url())
    files = [folder / "admin-token"]
    files.append(folder / "admin-password")  # the console's first-run password, when stdout was not a terminal
    if database is not None:
        files += [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    for path in files:
        try:
            mode = path.resolve().stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o077:
            what = {"admin-token": "the admin token file", "admin-password": "the admin password file"}.get(
                path.name, "a database file"
            )
            found.append((what, path.resolve(), mode, f"chmod 600 {path.resolve()}"))
    return found


def warn_if_open_to_others(settings: Settings) -> None:
    """Log a warning for each of the data folder and database files that others can read (they hold secrets)."""
    for what, path, mode, fix in open_to_others(settings):
        log.warning(f"{what} is open to other users", path=str(path), mode=f"{mode:04o}", fix=fix)


def freeze_heap() -> None:
    """Exempt everything alive now (modules, the app, the runtime) from the garbage collector's full passes.

    These objects live as long as the process. Left in the oldest generation, every full pass walks all
    ~100k of them with the GIL held: 30-100 ms during which no request is answered, which was most of
    the API's p99 under concurrent load. Garbage cycles created later are still collected.

    The thresholds matter as much: at the default (700 allocations) the collector ran ~130 times a second
    under alert intake, and objects of requests waiting for their group commit survived into the old
    generation, so a full pass (20-120 ms) ran every half second. Collecting young objects every 10,000
    allocations lets most request objects die first: GC time under `bench/ingest.py` fell from 1.5 s to
    0.3 s per 20 s of load, and full passes became rare.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)
    # The intake writer releases the GIL around every SQLite call and must take it back from the event loop
    # each time; at the default 5 ms switch interval a commit of ten statements could wait tens of ms for
    # it under load. 0.5 ms roughly halved the fixed-rate p99 at 10 alerts per request in bench/ingest.py.
    sys.setswitchinterval(0.0005)


def serve(settings: Settings, *, migrate: bool = True, engine: bool = True, workers: int = 1) -> None:
    """Run the API, and an engine in the same process unless told not to, until interrupted.

    With `workers` > 1, uvicorn forks that many API processes sharing the port; exactly one of them runs
    the engine on SQLite (the first to take the engine lock), every one of them on PostgreSQL."""
    import uvicorn

    from warroom.app import create_app

    configure_logging(settings)
    runtime = prepare(settings, migrate=migrate)
    runtime.run_engine = engine
    warn_if_open_to_others(settings)
    if engine and runtime.db.is_sqlite:
        # Found now, before anything is logged or bound: the engine's own start inside uvicorn's lifespan
        # ended in a traceback.
        from warroom.engine.worker import take_sqlite_engine_lock

        probe = take_sqlite_engine_lock(runtime.db)
        if probe is not None:
            probe.close()
    # Bound before "listening" is logged: a busy port is one line, not a log that claims the opposite.
    sock = bind(settings.host, settings.port)
    token_path = ensure_admin_token(runtime)
    if token_path is not None:
        log.info(
            "created the first admin token",
            path=str(token_path.resolve()),
            hint=f"export WARROOM_TOKEN=$(cat {token_path})",
        )
    warn_if_nobody_pages(runtime)
    show_first_account(runtime, settings)
    log.info(
        "warroom listening",
        url=f"http://{settings.host}:{settings.port}",
        database=runtime.db.engine.url.render_as_string(hide_password=True),
    )
    if workers > 1:
        sock.close()  # the workers bind the port themselves
        # Workers are fresh processes that rebuild their settings from the environment.
        os.environ.update(
            {
                "WARROOM_DATA_DIR": str(settings.data_dir.resolve()),
                "WARROOM_DATABASE_URL": settings.resolved_database_url(),
                "WARROOM_LOG_LEVEL": settings.log_level,
                "WARROOM_LOG_FORMAT": settings.log_format,
                WORKER_ENGINE_ENV: "1" if engine else "0",
            }
        )
        if settings.config is not None:
            os.environ["WARROOM_CONFIG"] = str(settings.config.resolve())
        runtime.db.dispose()
        uvicorn.run(
            "warroom.server:worker_app",
            factory=True,
            workers=workers,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            # Our handler on the root logger prints uvicorn's lines too, redacted and in the chosen format.
            log_config=None,
            access_log=False,
        )
        return
    app = create_app(runtime)
    freeze_heap()
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level=settings.log_level, log_config=None, access_log=False
    )
    uvicorn.Server(config).run(sockets=[sock])


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or PortUnavailable naming the setting to change."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise PortUnavailable(host, port, exc) from None
    return sock


def warn_if_nobody_pages(runtime: Runtime) -> None:
    """Say at start-up when severities page but no escalation policy exists: every such incident would page
    nobody (each one says so on its timeline too)."""
    from sqlalchemy import select

    from warroom.oncall.models import Policy

    paging = [s.name for s in runtime.severities if s.page]
    if not paging:
        return
    with runtime.db.session() as session:
        if session.scalar(select(Policy.id).limit(1)) is not None:
            return
    log.warning(
        f"severities {', '.join(paging)} page, but no policy is defined: nobody will be paged",
        hint="define a policy called `default` in warroom.yaml or with `warroom policy`, see docs/oncall.md",
    )


WORKER_ENGINE_ENV = "WARROOM_WORKER_ENGINE"


def worker_app() -> Any:
    """The app of one `warroom serve --workers N` process (uvicorn calls this in each worker)."""
    from warroom.app import create_app

    settings = Settings()
    configure_logging(settings)
    runtime = Runtime.from_settings(settings)
    runtime.run_engine = os.environ.get(WORKER_ENGINE_ENV) == "1"
    # Several workers try; on SQLite the ones that find the engine lock taken serve the API only.
    runtime.extras["engine_optional"] = True
    app = create_app(runtime)
    freeze_heap()
    return app


def run_engine(settings: Settings, *, migrate: bool = False, metrics_port: int | None = None) -> None:
    """Run an engine alone until SIGINT/SIGTERM; with `metrics_port`, serve its /metrics and /ready there."""
    import signal
    import threading

    from warroom.engine.http import EngineHttp
    from warroom.engine.worker import Engine

    configure_logging(settings)
    runtime = prepare(settings, migrate=migrate)
    http = None
    if metrics_port is not None:
        try:
            http = EngineHttp(runtime, settings.host, metrics_port)
        except OSError as exc:
            raise PortUnavailable(settings.host, metrics_port, exc, option="--metrics-port") from None
    engine = Engine(runtime)
    engine.start()
    if http is not None:
        http.start()
        log.info("engine metrics listening", url=f"http://{settings.host}:{http.port}/metrics")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stopping.wait()
    if http is not None:
        http.stop()
    engine.stop()


class PortUnavailable(Exception):
    """The address to listen on is taken or not ours; the message names the setting to change."""

    def __init__(self, host: str, port: int, exc: OSError, *, option: str = "WARROOM_PORT/--port") -> None:
        reason = exc.strerror or str(exc)
        super().__init__(
            f"cannot listen on {host}:{port} ({reason}): another process uses it; choose another with {option}"
        )
