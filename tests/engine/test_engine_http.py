"""`warroom engine --metrics-port`: an engine running apart from the API shows its own figures and readiness."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("WARROOM_DATABASE_URL", None)
    env.update(WARROOM_DATA_DIR=str(tmp_path / "data"), WARROOM_LOG_LEVEL="warning", WARROOM_HOST="127.0.0.1")
    return env


def test_engine_alone_serves_metrics_and_ready(tmp_path):
    port = free_port()
    log = (tmp_path / "engine.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "warroom", "engine", "--migrate", "--metrics-port", str(port)],
        env=_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, (tmp_path / "engine.log").read_text()
                assert time.monotonic() < deadline, "the engine's metrics never answered"
                time.sleep(0.1)
        assert metrics.status_code == 200
        for family in (
            "warroom_monitor_write_errors_total",
            "warroom_notifications_total",
            "warroom_engine_oldest_overdue_seconds",
            "warroom_engine_job_lateness_seconds",
        ):
            assert f"# TYPE {family.removesuffix('_total')}" in metrics.text, family
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2)
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_engine_on_a_busy_metrics_port_says_so_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "warroom", "engine", "--migrate", "--metrics-port", str(port)],
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"database: sqlite:///{tmp_path / 'data' / 'warroom.db'}",
        f"error: cannot listen on 127.0.0.1:{port} (Address already in use): another process uses it; "
        "choose another with --metrics-port",
    ]
