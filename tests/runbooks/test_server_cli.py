"""`warroom runbook list|match|stats|run --incident` against a real server on 127.0.0.1 with its engine."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.runbooks.test_server import WEB_DOWN, write
from typer.testing import CliRunner

from warroom.cli import app
from warroom.config import ConfigFile
from warroom.engine.worker import Engine
from warroom.incidents import timeline
from warroom.runbooks import cli as runbook_cli
from warroom.runbooks import remote

runner = CliRunner()


class Script:
    """Answers prompts in order and records the questions."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    def __call__(self, question: str, choices: Sequence[str] | None) -> str:
        self.questions.append(question)
        if not self.answers:
            raise EOFError
        return self.answers.pop(0)


@pytest.fixture
def runbook_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "runbooks"
    write(folder, "web-down.md", WEB_DOWN)
    return folder


@pytest.fixture
def config(runbook_dir: Path) -> ConfigFile:
    return ConfigFile.model_validate({"runbooks": {"folders": [str(runbook_dir)]}})


@pytest.fixture
def cli(live_server, make_token, monkeypatch, runtime) -> Iterator[Any]:
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("responder", "alice"))
    monkeypatch.setattr(remote, "POLL_INTERVAL", 0.02)
    engine = Engine(runtime, poll_interval=0.05)
    engine.start()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["runbook", *args])
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result.stdout if code == 0 else result.stdout + result.stderr

    yield run
    engine.stop()


def test_interactive_run_on_an_incident(cli, runtime, make_incident, monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    incident = make_incident(services=["checkout"])
    script = Script(
        "run",  # diagnosis: printf
        "run",  # mitigation (dangerous)
        "no",  # ... not confirmed: skipped
        "done",  # checklist
        "dashboard green",
        "run",  # verify
    )
    monkeypatch.setattr(runbook_cli, "ASK", script)
    out = cli("run", "web-down", "--incident", str(incident.number))
    assert "run 1: Web service down on incident #1" in out
    assert "<service>='checkout' (incident)" in out
    assert "$ printf '%s\\n' checkout" in out
    assert "\ncheckout\n" in out and "ok in" in out
    assert "DANGEROUS: rm -rf" in out and "skipped: not confirmed" in out
    assert "$ test checkout = checkout" in out
    assert "outcome: success" in out
    assert script.questions == [
        "Run it?",
        "Run it?",
        "This step needs confirmation: type yes to run it",
        "Done?",
        "Comment (optional)",
        "Run it?",
    ]
    with runtime.db.session() as session:
        kinds = [e.kind for e in timeline.events(session, incident.number) if e.kind.startswith("runbook")]
    assert kinds == [
        "runbook_started",
        "runbook_step_ran",
        "runbook_step_skipped",
        "runbook_step_done",
        "runbook_step_ran",
        "runbook_finished",
    ]


def test_interactive_run_asks_for_a_missing_value_and_reports_a_failure(cli, make_incident, monkeypatch):
    incident = make_incident()
    script = Script("billing", "run", "quit")
    monkeypatch.setattr(runbook_cli, "ASK", script)
    out = cli("run", "web-down", "--incident", str(incident.number), "--section", "Diagnosis")
    assert script.questions[0] == "Value for <service> (empty to leave unfilled)"
    assert "$ printf '%s\\n' billing" in out and "\nbilling\n" in out
    # Only one step under Diagnosis: the run ends and finishes with an unknown outcome.
    assert "outcome: unknown" in out

    failing = Script("run")
    monkeypatch.setattr(runbook_cli, "ASK", failing)
    err = cli(
        "run", "web-down", "--incident", str(incident.number), "--param", "service=billing", "--from-step", "4", code=1
    )
    assert "$ test billing = checkout" in err and "exit 1" in err and "outcome: failed" in err


def test_quit_leaves_the_run_open(cli, make_incident, monkeypatch):
    incident = make_incident(services=["checkout"])
    monkeypatch.setattr(runbook_cli, "ASK", Script("quit"))
    out = cli("run", "web-down", "--incident", str(incident.number))
    assert "run 1 stays open on incident #1" in out


def test_run_on_a_server_refuses_dry_run_and_unknown_runbooks(cli, make_incident):
    incident = make_incident()
    assert "leave out --incident" in cli("run", "web-down", "--incident", "1", "--dry-run", code=2)
    assert "No runbook 'nope'" in cli("run", "nope", "--incident", str(incident.number), code=1)
    assert "No incident #99" in cli("run", "web-down", "--incident", "99", code=1)


def test_list_match_and_stats(cli, make_incident, runbook_dir):
    listed = json.loads(cli("list", "--json"))
    assert [r["id"] for r in listed] == ["web-down"]
    assert "web-down" in cli("list")
    local = json.loads(cli("list", "--dir", str(runbook_dir), "--json"))
    assert local[0]["id"] == "web-down" and local[0]["warnings"] >= 1
    incident = make_incident(services=["checkout"])
    matches = json.loads(cli("match", "--incident", str(incident.number), "--json"))
    assert matches[0]["runbook"]["id"] == "web-down" and "for service checkout" in matches[0]["reasons"]
    assert "for service checkout" in cli("match", "--incident", str(incident.number))
    other = make_incident(title="Printer on fire")
    assert "no runbook fits incident #2" in cli("match", "--incident", str(other.number))
    figures = json.loads(cli("stats", "--json"))
    assert figures[0]["runbook"] == "web-down" and figures[0]["times_used"] == 0
    assert "Runbook effectiveness" in cli("stats")


def test_viewer_gets_a_one_line_error(cli, make_token, make_incident, monkeypatch):
    incident = make_incident(services=["checkout"])
    monkeypatch.setenv("WARROOM_TOKEN", make_token("viewer", "vic"))
    err = cli("run", "web-down", "--incident", str(incident.number), code=1)
    assert err.strip().startswith("error: This needs the responder role") and "Traceback" not in err


QUERY = """
---
id: query
params:
  - {name: query, pattern: '[A-Za-z ]+'}
---
# Query

## Diagnosis
```bash
printf '%s\\n' <query>
```
"""


def test_a_value_typed_at_the_prompt_that_makes_the_step_dangerous_asks_to_confirm(
    cli, make_incident, monkeypatch, runbook_dir
):
    write(runbook_dir, "query.md", QUERY)
    incident = make_incident()
    script = Script("DROP TABLE users", "run", "yes")
    monkeypatch.setattr(runbook_cli, "ASK", script)
    out = cli("run", "query", "--incident", str(incident.number))
    assert script.questions[-1] == "This step needs confirmation: type yes to run it"
    assert "DANGEROUS: SQL DROP" in out and "\nDROP TABLE users\n" in out
