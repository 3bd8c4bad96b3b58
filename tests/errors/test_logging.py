"""What the operator reads in the logs: secrets redacted in every format, a 500 logged once without local
variables, plain text off a terminal, JSON lines only in JSON mode, bad log settings refused, no stalls."""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
import uvicorn
from fastapi import Request

from tests.conftest import free_port
from warroom.config import Settings
from warroom.server import configure_logging

pytestmark = pytest.mark.backend("sqlite")  # logging does not depend on the database


def _flush() -> None:
    # Lines are written by a thread; wait until it has written what was logged so far.
    try:
        logs = importlib.import_module("warroom.logs")
    except ImportError:  # before the writer thread existed, lines were written synchronously
        return
    writer = getattr(logs, "_writer", None)
    if writer is not None:
        writer.flush()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def _configure(fmt: str, level: str = "info") -> None:
    configure_logging(Settings(log_format=fmt, log_level=level))


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_secrets_never_reach_a_log_line(fmt, capsys, restore_logging):
    _configure(fmt)
    log = structlog.get_logger("warroom.test")
    log.warning(
        "delivery failed",
        authorization="Bearer wr_abcdef123456_SECRETTOKEN",
        headers={"Cookie": "session=COOKIESECRET", "accept": "text/plain"},
        url="https://bob:HUNTER2PASS@hooks.example.com/notify",
        database="postgresql://warroom:DBPASSWORD@db:5432/warroom",
        path="/api/v1/intake/INTAKEKEY0123456789",
        detail="sent Authorization: Bearer wr_OTHERSECRET0000 to /heartbeats/HEARTBEATTOKEN?key=QUERYKEY",
        api_key="APIKEYVALUE",
        password="PLAINPASSWORD",
    )
    logging.getLogger("apprise").warning("could not reach https://u:STDLIBPASS@example.org/x")
    try:
        raise RuntimeError("rejected token wr_INEXCEPTION99999 for https://a:EXCPASS@h/")
    except RuntimeError:
        log.exception("while notifying")
    _flush()
    out = capsys.readouterr().err
    assert "delivery failed" in out and "while notifying" in out and "could not reach" in out
    for secret in [
        "SECRETTOKEN",
        "COOKIESECRET",
        "HUNTER2PASS",
        "DBPASSWORD",
        "INTAKEKEY0123456789",
        "OTHERSECRET",
        "HEARTBEATTOKEN",
        "QUERYKEY",
        "APIKEYVALUE",
        "PLAINPASSWORD",
        "STDLIBPASS",
        "INEXCEPTION",
        "EXCPASS",
    ]:
        assert secret not in out, f"{secret} leaked: {out}"
    # What is not secret stays readable.
    assert "hooks.example.com" in out and "text/plain" in out


def test_console_logs_have_no_colour_codes_off_a_terminal(capsys, restore_logging):
    _configure("console")
    structlog.get_logger("warroom.test").error("engine stopped", engine="vm:1")
    logging.getLogger("uvicorn.error").info("Started server process [1]")
    _flush()
    out = capsys.readouterr().err
    assert "engine stopped" in out and "Started server process" in out
    assert "\x1b[" not in out


def test_json_logs_are_json_lines_only_uvicorn_included(capsys, restore_logging):
    _configure("json")
    structlog.get_logger("warroom.test").info("warroom listening", url="http://127.0.0.1:8080")
    logging.getLogger("uvicorn.error").info("Uvicorn running on %s", "http://127.0.0.1:8080")
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/health", "1.1", 200)
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        logging.getLogger("apprise").exception("plugin failed")
    _flush()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # raises on any line that is not JSON
    events = [r["event"] for r in records]
    assert "warroom listening" in events
    assert "Uvicorn running on http://127.0.0.1:8080" in events
    assert any("GET /health" in e for e in events)
    failed = next(r for r in records if r["event"] == "plugin failed")
    assert "ZeroDivisionError" in failed["exception"]


def _serve_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update(WARROOM_DATA_DIR=str(tmp_path / "data"), WARROOM_PORT=str(free_port()), **extra)
    return env


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [("WARROOM_LOG_FORMAT", "xml", "console, json"), ("WARROOM_LOG_LEVEL", "verbose", "debug, info, warning, error")],
)
def test_a_bad_log_setting_is_refused_in_one_line(name, value, accepted, tmp_path):
    try:
        done = subprocess.run(
            [sys.executable, "-m", "warroom", "serve"],
            env=_serve_env(tmp_path, **{name: value}),
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}={value} was accepted: the server started")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1
    assert len(lines) == 1, done.stderr
    assert name in lines[0] and value in lines[0] and accepted in lines[0]
    assert "Traceback" not in done.stderr


def test_logging_does_not_wait_for_a_blocked_stderr(monkeypatch, restore_logging):
    read_end, write_end = os.pipe()  # nobody reads: the pipe fills after 64 KiB and a write would block
    stream = os.fdopen(write_end, "w")
    monkeypatch.setattr(sys, "stderr", stream)
    _configure("json")
    log = structlog.get_logger("warroom.test")
    finished = threading.Event()

    def flood() -> None:
        for n in range(2000):
            log.error("delivery failed", attempt=n, detail="x" * 1000)
        finished.set()

    threading.Thread(target=flood, daemon=True).start()
    assert finished.wait(10), "logging blocked on a full stderr"
    os.close(read_end)


class _Server:
    """The app under uvicorn as `warroom serve` runs it (uvicorn leaves logging to us)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_a_500_is_logged_once_without_secrets_or_local_variables(
    fmt, app, make_token: Callable[..., str], capsys, restore_logging
):
    _configure(fmt)
    token = make_token("viewer")

    def explode(authorization: str) -> None:
        nested = {"level": {"level": {"intake_key": "LOCALKEY0123456789"}}}
        raise RuntimeError(f"cannot handle {len(nested)} for {authorization}")

    def broken_route(request: Any) -> Any:
        explode(request.headers["authorization"])

    async def route(request: Request) -> None:
        broken_route(request)

    app.add_api_route("/api/v1/broken", route)
    with _Server(app) as server:
        answer = httpx.get(
            f"http://127.0.0.1:{server.port}/api/v1/broken",
            headers={"Authorization": f"Bearer {token}", "Cookie": "session=COOKIEVALUE"},
        )
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert token not in answer.text
    _flush()
    out = capsys.readouterr().err
    assert out.count("RuntimeError: cannot handle") == 1, out  # once: not again by uvicorn
    assert token not in out and token.split("_")[-1] not in out
    assert "LOCALKEY0123456789" not in out  # local variables are never rendered
    assert "COOKIEVALUE" not in out
    assert "explode" in out  # the frames are there: the operator can find the bug


def test_a_huge_value_is_cut_and_still_redacted(capsys, restore_logging):
    _configure("json")
    detail = "x " * 300_000 + "Authorization: Bearer wr_TOKENATTHEEND0000 " + "y " * 300_000
    structlog.get_logger("warroom.test").warning("payload refused", detail=detail)
    _flush()
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert "TOKENATTHEEND" not in record["detail"]
    assert "characters cut" in record["detail"]
    assert len(record["detail"]) < 20_000
