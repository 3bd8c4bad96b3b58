"""The drill flag where people and other domains see it: CLI listings, exports, and the one filter helper."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from warroom.cli import app
from warroom.incidents import service as incidents
from warroom.incidents.models import Incident

runner = CliRunner()


@pytest.fixture
def cli(live_server, make_token, monkeypatch):
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("admin", "ops"))
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result.stdout if code == 0 else result.stderr

    return run


@pytest.fixture
def two(make_incident):
    """#1 a real incident, #2 a drill."""
    make_incident(title="Checkout down for real")
    make_incident(title="Checkout drill", drill=True)


def test_listings_and_exports_say_which_is_a_drill(cli, two):
    listed = cli("incident", "list")
    assert "DRILL Checkout drill" in listed and "DRILL Checkout down for real" not in listed
    assert "(DRILL: a rehearsal)" in cli("incident", "show", "2")
    assert "DRILL" not in cli("incident", "show", "1")
    assert [i["drill"] for i in json.loads(cli("incident", "list", "--json"))] == [True, False]
    rows = list(csv.DictReader(io.StringIO(cli("export", "incidents", "--format", "csv"))))
    assert [(r["title"], r["drill"]) for r in rows] == [("Checkout down for real", "False"), ("Checkout drill", "True")]
    markdown = cli("export", "incidents", "--format", "markdown")
    assert "## #2 [P1] DRILL Checkout drill" in markdown and "## #1 [P1] Checkout down for real" in markdown
    assert [i["drill"] for i in json.loads(cli("export", "incidents", "--format", "json"))] == [False, True]


def test_the_filter_other_domains_use_leaves_drills_out_unless_asked(runtime, two):
    with runtime.db.session() as session:
        real = session.scalars(incidents.without_drills(select(Incident))).all()
        assert [i.title for i in real] == ["Checkout down for real"]
        every = session.scalars(incidents.without_drills(select(Incident), include_drills=True)).all()
        assert sorted(i.title for i in every) == ["Checkout down for real", "Checkout drill"]
        assert [incidents.is_drill(i) for i in sorted(every, key=lambda i: i.id)] == [False, True]
