"""The data folder is 0700 and the SQLite database, its WAL and shared-memory files 0600, whatever the umask;
`warroom serve` warns when an existing folder or database is open to others."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.conftest import free_port
from tests.peers import wait_answering
from warroom import db as dbmod
from warroom.cli import app as cli


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env["WARROOM_DATA_DIR"] = str(data)
    env["WARROOM_LOG_FORMAT"] = "json"
    return env


def warnings_in(output: str) -> list[dict[str, str]]:
    """The warnings about file modes (serve also warns about other things, such as a missing policy)."""
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("level") == "warning" and "mode" in line]


@contextmanager
def serving(data: Path, umask: int) -> Iterator[tuple[str, list[str]]]:
    """`warroom serve` on a free port under `umask`; yields its URL and (after the block) its output."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "warroom", "serve", "--port", str(port), "--data-dir", str(data)],
        env=_env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: os.umask(umask),
    )
    output: list[str] = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_answering(f"{base}/ready", process, 60, lambda: "warroom serve did not start")
        yield base, output
    finally:
        process.send_signal(signal.SIGINT)
        output.append(process.communicate(timeout=30)[0].decode(errors="replace"))


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_serve_creates_a_private_data_folder_whatever_the_umask(tmp_path: Path, umask: int):
    data = tmp_path / "data"
    with serving(data, umask) as (base, _):
        # The first start wrote the admin token: the database is open in WAL mode now.
        token = (data / "admin-token").read_text().strip()
        assert httpx.get(f"{base}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        db = data / "warroom.db"
        assert mode(data) == 0o700
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), data / "admin-token"):
            assert path.exists(), path
            assert mode(path) == 0o600, (path, oct(mode(path)))


def test_the_cli_creates_the_folder_private_too(tmp_path: Path, monkeypatch):
    data = tmp_path / "nested" / "data"
    for key in [k for k in os.environ if k.startswith("WARROOM_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("WARROOM_DATA_DIR", str(data))
    old = os.umask(0)
    try:
        result = CliRunner().invoke(cli, ["db", "upgrade"])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert mode(data) == 0o700 and mode(data / "warroom.db") == 0o600


def test_serve_warns_when_the_folder_or_database_is_open_to_others(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    db = data / "warroom.db"
    dbmod.upgrade(f"sqlite:///{db}")
    os.chmod(data, 0o755)
    os.chmod(db, 0o644)
    with serving(data, 0o022) as (_, output):
        pass
    found = {(w["event"], w["path"], w["mode"], w["fix"]) for w in warnings_in(output[0])}
    assert (
        "the data folder is open to other users",
        str(data.resolve()),
        "0755",
        f"chmod 700 {data.resolve()}",
    ) in found
    assert ("a database file is open to other users", str(db.resolve()), "0644", f"chmod 600 {db.resolve()}") in found
    assert mode(db) == 0o644  # warned, not changed behind the operator's back


def test_serve_says_nothing_when_modes_are_private(tmp_path: Path):
    data = tmp_path / "data"
    with serving(data, 0o022):
        pass
    with serving(data, 0o022) as (_, output):
        pass
    assert warnings_in(output[0]) == [], output[0]
