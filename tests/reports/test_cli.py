"""`warroom report ...` as a person runs it, against a real server on 127.0.0.1 with the month loaded."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from tests.reports.conftest import SINCE, UNTIL
from warroom.cli import app

runner = CliRunner()
PERIOD = ["--since", SINCE, "--until", UNTIL]


@pytest.fixture
def cli(month, live_server, make_token, monkeypatch):
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("viewer", "reader"))

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["report", *args])
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result.stdout if code == 0 else result.stderr

    return run


@pytest.mark.backend("sqlite")
def test_sections_retrospective_and_charts(cli, tmp_path):
    rows = list(csv.DictReader(io.StringIO(cli("incidents", *PERIOD, "--by", "team"))))
    assert [(r["group"], r["incidents"]) for r in rows] == [
        ("(all)", "8"), ("(none)", "1"), ("frontend", "4"), ("storage", "3"),
    ]  # fmt: skip
    load = json.loads(cli("load", *PERIOD, "--format", "json"))["load"]
    assert [(p["person"], p["night_pages"]) for p in load["people"]] == [("bob", 3), ("alice", 2), ("carol", 1)]
    noise = json.loads(cli("noise", *PERIOD, "--flap-minutes", "60", "--format", "json"))["noise"]
    assert noise["flapping"]["flaps"] == 3
    out = tmp_path / "RETRO.md"
    cli("retrospective", *PERIOD, "-o", str(out))
    assert out.read_text().startswith("# Incident retrospective: 2026-11-01 to 2026-12-01")
    chart = tmp_path / "trend.svg"
    cli("chart", "trend", *PERIOD, "--bucket", "day", "-o", str(chart))
    assert ET.parse(chart).getroot().tag.endswith("svg")


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["incidents", "--since", "2026-12-01", "--until", "2026-11-01"], "must be before until"),
        (["incidents", "--by", "colour"], "Unknown group_by 'colour'"),
        (["trend", "--bucket", "year"], "Unknown bucket 'year'"),
        (["chart", "pie"], "name"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(cli, args, words):
    err = cli(*args, code=1)
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
