"""WARROOM_SQLITE_SYNCHRONOUS chooses how durable a SQLite commit is, on every connection the server opens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from warroom.config import Settings
from warroom.runtime import Runtime

# PRAGMA synchronous answers a number: 1 is NORMAL, 2 is FULL.
LEVELS = {"normal": 1, "full": 2}


def _synchronous_on_every_connection(runtime: Runtime) -> set[int]:
    """The pragma as each of several pooled connections sees it (reads and a write held open together)."""
    sessions = [runtime.db.session(), runtime.db.session(), runtime.db.write_session()]
    try:
        return {int(s.execute(text("PRAGMA synchronous")).scalar_one()) for s in sessions}
    finally:
        for session in sessions:
            session.close()


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "normal"), ("normal", "normal"), ("full", "full"), ("FULL", "full")]
)
def test_the_setting_is_in_force_on_the_servers_connections(tmp_path, monkeypatch, value, expected):
    monkeypatch.delenv("WARROOM_DATABASE_URL", raising=False)
    if value is None:
        monkeypatch.delenv("WARROOM_SQLITE_SYNCHRONOUS", raising=False)
    else:
        monkeypatch.setenv("WARROOM_SQLITE_SYNCHRONOUS", value)
    runtime = Runtime.from_settings(Settings(data_dir=tmp_path))  # what `warroom serve` and `warroom engine` build
    try:
        assert _synchronous_on_every_connection(runtime) == {LEVELS[expected]}
    finally:
        runtime.db.dispose()


def test_an_invalid_value_is_refused_in_one_line_naming_the_setting(tmp_path):
    env = {**os.environ, "WARROOM_DATA_DIR": str(tmp_path), "WARROOM_SQLITE_SYNCHRONOUS": "sometimes"}
    env.pop("WARROOM_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "warroom", "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "WARROOM_SQLITE_SYNCHRONOUS" in lines[0] and "normal" in lines[0] and "full" in lines[0]
    assert "Traceback" not in done.stderr
    assert not Path(tmp_path / "warroom.db").exists()  # nothing was opened with a setting it did not understand
