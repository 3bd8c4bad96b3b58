"""`warroom serve` as an operator starts it: warnings that matter, and one-line refusals instead of tracebacks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port
from tests.peers import wait_answering


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("WARROOM_DATABASE_URL", None)
    env.update(WARROOM_DATA_DIR=str(data_dir), WARROOM_PORT=str(port), WARROOM_HOST="127.0.0.1", NO_COLOR="1")
    return env


def _serve(tmp_path: Path, data_dir: Path, port: int, name: str) -> subprocess.Popen[bytes]:
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "warroom", "serve"], env=_env(data_dir, port), stdout=log, stderr=subprocess.STDOUT
    )


def _run_once(data_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warroom", "serve"],
        env=_env(data_dir, port),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_start_up_warns_when_severities_page_but_no_policy_exists_and_a_second_serve_refuses(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    first = _serve(tmp_path, data_dir, port, "first")
    try:
        wait_answering(f"http://127.0.0.1:{port}/health", first, 30, (tmp_path / "first.log").read_text)
        log = (tmp_path / "first.log").read_text()
        assert "severities P0, P1, P2 page, but no policy is defined: nobody will be paged" in log
        second = _run_once(data_dir, free_port())
        assert second.returncode == 1
        assert "Traceback" not in second.stderr
        errors = [line for line in second.stderr.splitlines() if line.startswith("error: ")]
        assert errors == [
            f"error: another warroom engine already runs on {data_dir / 'warroom.db'}: SQLite allows one engine "
            "(use PostgreSQL to run several, or `warroom serve --no-engine` for extra API processes)"
        ]
        assert "listening" not in second.stderr
    finally:
        first.terminate()
        first.wait(timeout=20)


def test_serve_on_a_busy_port_is_one_line_and_never_claims_to_listen(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _run_once(tmp_path / "data", port)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "listening" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: cannot listen on 127.0.0.1:{port} (Address already in use): another process uses it; "
        "choose another with WARROOM_PORT/--port"
    ]
