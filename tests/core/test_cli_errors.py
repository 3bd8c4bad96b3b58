"""Errors a person can act on: one line naming the setting or file and what is accepted, exit 1 (2 for
usage), never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tests.conftest import free_port
from warroom.cli import app

runner = CliRunner()


def one_line(result) -> str:
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if not line.startswith("database: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: tmp / "missing.yaml", "cannot read {file}: No such file or directory"),
        (lambda tmp: tmp, "cannot read {file}: it is a folder, not a file"),
        (lambda tmp: _write(tmp / "bad.yaml", "name: web\n  type: [http\n"), "{file}:2: not valid YAML"),
    ],
    ids=["missing", "folder", "invalid-yaml"],
)
def test_monitor_add_file_problems_are_one_line(tmp_path, monkeypatch, make, expected):
    monkeypatch.setenv("WARROOM_URL", f"http://127.0.0.1:{free_port()}")
    file = make(tmp_path)
    result = runner.invoke(app, ["monitor", "add", "--file", str(file)])
    assert result.exit_code == 2
    assert one_line(result).startswith("error: " + expected.format(file=file))


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"WARROOM_PORT": "abc"},
            "error: WARROOM_PORT='abc' is not valid: expected a whole number",
        ),
        (
            {"WARROOM_DATABASE_URL": "mysql://root:secret@127.0.0.1/warroom"},
            "error: WARROOM_DATABASE_URL: mysql is not supported: expected sqlite:///PATH or postgresql://USER@HOST/DB",
        ),
    ],
    ids=["port", "mysql"],
)
def test_bad_settings_are_one_line_naming_the_setting(tmp_path, monkeypatch, env, expected):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("WARROOM_DATA_DIR", str(tmp_path))
    for args in (["db", "upgrade"], ["token", "list"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        assert one_line(result) == expected
        assert "secret" not in result.output


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path, monkeypatch):
    port = free_port()
    monkeypatch.setenv("WARROOM_DATABASE_URL", f"postgresql://warroom:hunter2@127.0.0.1:{port}/warroom")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith(
        "error: cannot use the database "
        f"WARROOM_DATABASE_URL=postgresql+psycopg://warroom:***@127.0.0.1:{port}/warroom: "
    )
    assert "hunter2" not in result.output


def test_warroom_url_that_is_not_warroom_says_so(monkeypatch, tmp_path):
    # A real web server that is not warroom answers with an HTML page.
    (tmp_path / "api" / "v1").mkdir(parents=True)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        from tests.monitors.conftest import eventually

        def up():
            try:
                return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        eventually(up)
        monkeypatch.setenv("WARROOM_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("WARROOM_TOKEN", "x")
        result = runner.invoke(app, ["incident", "list"])
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith(f"error: http://127.0.0.1:{port} is not a warroom server (WARROOM_URL): ")
    assert "<html" not in line.lower()
