"""Token names are unique: revoking by name revokes the one token people mean (the migration that made them
unique is tested in test_migrations.py)."""

from __future__ import annotations

from typer.testing import CliRunner

from warroom.cli import app

runner = CliRunner()


def test_a_second_token_with_the_same_name_is_refused(api):
    assert api.post("/api/v1/tokens", json={"name": "ci", "role": "viewer"}).status_code == 201
    again = api.post("/api/v1/tokens", json={"name": "ci", "role": "admin"})
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["detail"] == "A token named 'ci' already exists: choose another name, e.g. ci-2."
    assert [t["name"] for t in api.get("/api/v1/tokens").json()].count("ci") == 1


def test_cli_refuses_a_duplicate_name_in_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("WARROOM_DATABASE_URL", raising=False)
    monkeypatch.setenv("WARROOM_DATA_DIR", str(tmp_path))
    runner.invoke(app, ["db", "upgrade"])
    assert runner.invoke(app, ["token", "create", "--name", "ci"]).exit_code == 0
    again = runner.invoke(app, ["token", "create", "--name", "ci"])
    assert again.exit_code == 1
    assert again.stderr.splitlines()[-1] == (
        "error: A token named 'ci' already exists: choose another name, e.g. ci-2."
    )
