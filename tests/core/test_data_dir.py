"""Server-side commands find the server's database the way `serve` does, never make a new empty one, and say
which database they touched."""

from __future__ import annotations

from starlette.testclient import TestClient
from typer.testing import CliRunner

from warroom.app import create_app
from warroom.cli import app
from warroom.config import Settings
from warroom.runtime import Runtime

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_a_command_run_elsewhere_refuses_to_make_a_new_empty_database(tmp_path, monkeypatch):
    monkeypatch.delenv("WARROOM_DATA_DIR", raising=False)
    monkeypatch.delenv("WARROOM_DATABASE_URL", raising=False)
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for args in (("token", "create", "--name", "ci"), ("token", "list"), ("db", "status"), ("engine", "jobs")):
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.strip() == (
            f"error: no warroom database at {elsewhere / 'data' / 'warroom.db'}: point at the server's data folder "
            "with --data-dir or WARROOM_DATA_DIR (or its database with WARROOM_DATABASE_URL)"
        ), args
    assert not (elsewhere / "data").exists()


def test_data_dir_option_reaches_the_servers_database_and_the_token_works(tmp_path, monkeypatch):
    monkeypatch.delenv("WARROOM_DATA_DIR", raising=False)
    monkeypatch.delenv("WARROOM_DATABASE_URL", raising=False)
    server_dir = tmp_path / "srv" / "data"
    monkeypatch.chdir(tmp_path)
    upgraded = run("db", "upgrade", "--data-dir", str(server_dir))
    assert upgraded.exit_code == 0, upgraded.output
    database = f"sqlite:///{server_dir / 'warroom.db'}"
    assert f"database: {database}" in upgraded.stderr
    created = run("token", "create", "--name", "ci", "--role", "viewer", "--data-dir", "srv/data")
    assert created.exit_code == 0, created.output
    assert created.stderr.strip() == f"database: {database}"
    token = created.stdout.strip()
    runtime = Runtime.from_settings(Settings(data_dir=server_dir))
    with TestClient(create_app(runtime)) as client:
        answer = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    runtime.db.dispose()
    assert answer.status_code == 200 and answer.json()["name"] == "ci"


def test_db_upgrade_says_what_it_applied_and_status_lists_migrations_in_order(tmp_path, monkeypatch):
    monkeypatch.delenv("WARROOM_DATABASE_URL", raising=False)
    monkeypatch.setenv("WARROOM_DATA_DIR", str(tmp_path / "data"))
    from warroom import db as dbmod

    url = f"sqlite:///{tmp_path / 'data' / 'warroom.db'}"
    run("db", "upgrade", "0001_core")
    pending = run("db", "status")
    lines = pending.stdout.splitlines()
    assert lines[0].startswith("applied  0001_core")
    revisions = [line.split()[1] for line in lines[:-1]]
    assert revisions == sorted(revisions)  # oldest first: the order they apply in
    assert lines[-1] == f"{len(revisions) - 1} pending"
    upgraded = run("db", "upgrade")
    assert upgraded.stdout.strip() == f"applied {len(revisions) - 1} migration(s): {', '.join(revisions[1:])}"
    assert run("db", "upgrade").stdout.strip() == "database is up to date: nothing to apply"
    assert dbmod.pending_migrations(url) == []
    assert run("db", "status").stdout.splitlines()[-1] == "up to date"
