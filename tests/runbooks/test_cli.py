"""`runbook show`, `run --dry-run` and the interactive local run, on files, without a server."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from warroom.runbooks import cli
from warroom.runbooks.cli import app, run_interactive
from warroom.runbooks.parser import parse_file
from warroom.runbooks.plan import Outcome, outcome, select_steps

Write = Callable[[str, str], Path]
runner = CliRunner()

RUNBOOK = """
---
id: web-down
params:
  - name: service
    pattern: '[a-z-]+'
---
# Web down

## Diagnosis
```bash
echo "logs of <service>"
```

## Resolution
1. Tell the team in #incidents

```bash
echo restarting <service>; rm -rf "$TMPDIR/warroom-never"
```

## Verification
- [ ] Dashboard is green

```bash {verify timeout=5}
test "<service>" = web
```
"""


class Script:
    """Answers prompts in order and records the questions."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    def __call__(self, question: str, choices: Sequence[str] | None) -> str:
        self.questions.append(question)
        return self.answers.pop(0)


def test_show_json_has_sections_and_steps(seeds_dir: Path) -> None:
    path = sorted(seeds_dir.glob("003_*"))[0]
    result = runner.invoke(app, ["show", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == path.stem
    resolution = [
        s for s in data["sections"] if s["path_str"] == "Common Scenarios › Database Connection Issues › Resolution"
    ]
    assert resolution and resolution[0]["role"] == "resolution" and resolution[0]["line"] == 107
    kill = next(s for s in data["steps"] if s["line"] == 110)
    assert kill["kind"] == "command" and kill["dangerous"] is True
    assert kill["section"] == "Common Scenarios › Database Connection Issues › Resolution"
    assert kill["options"] == {"timeout": None, "confirm": False, "auto": False, "verify": False}
    assert set(kill) >= {
        "index",
        "kind",
        "section",
        "command",
        "description",
        "placeholders",
        "dangerous",
        "options",
        "line",
    }
    restart = next(s for s in data["steps"] if s["line"] == 85)
    assert restart["placeholders"] == ["service"]


def test_show_human_output_and_errors(seeds_dir: Path, tmp_path: Path) -> None:
    path = sorted(seeds_dir.glob("001_*"))[0]
    result = runner.invoke(app, ["show", str(path)])
    assert result.exit_code == 0
    assert "Emergency Response Procedures" in result.stdout and "DANGEROUS" in result.stdout
    missing = runner.invoke(app, ["show", "nope"], env={"WARROOM_RUNBOOK_DIRS": ""})
    assert missing.exit_code == 1
    assert "error: no runbook file 'nope'" in missing.output
    assert runner.invoke(app, ["show"]).exit_code == 2
    by_id = runner.invoke(app, ["show", path.stem, "--json"], env={"WARROOM_RUNBOOK_DIRS": str(tmp_path)})
    assert by_id.exit_code == 1  # .txt files are only read when named


def test_dry_run_fills_and_quotes(write: Write) -> None:
    path = write("web.md", RUNBOOK)
    result = runner.invoke(app, ["run", str(path), "--dry-run", "--param", "service=web"])
    assert result.exit_code == 0, result.output
    assert '$ echo "logs of web"' in result.stdout
    assert '$ test "web" = web' in result.stdout
    assert "asks for confirmation: rm -rf" in result.stdout
    assert "nothing was run" in result.stdout
    section = runner.invoke(app, ["run", str(path), "--dry-run", "--section", "verif"])
    assert section.exit_code == 0
    assert "would not run: unfilled: <service>" in section.stdout
    assert "Dashboard is green" in section.stdout and "restarting" not in section.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "service=Web Site"], "does not match its pattern"),
        (["--param", "service"], "expected NAME=VALUE"),
        (["--from-step", "99"], "this runbook has steps 1 to"),
        (["--section", "nowhere"], "no steps under a section matching 'nowhere'"),
    ],
)
def test_run_refuses_bad_input_with_one_line(write: Write, args: list[str], message: str) -> None:
    path = write("web.md", RUNBOOK)
    result = runner.invoke(app, ["run", str(path), "--dry-run", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_interactive_run_asks_runs_skips_and_confirms(write: Write) -> None:
    runbook = parse_file(write("web.md", RUNBOOK))
    ask = Script(
        "run",  # diagnosis command
        "done",
        "told",  # manual step + comment
        "run",
        "no",  # dangerous command: run, then refuse the confirmation
        "done",
        "",  # checklist item
        "run",  # verify step
    )
    console = Console(record=True, width=200)
    record = run_interactive(runbook, runbook.steps, {"service": "web"}, ask=ask, console=console)
    assert [(r.step.index, r.action) for r in record.records] == [
        (1, "ran"),
        (2, "done"),
        (3, "skipped"),
        (4, "done"),
        (5, "ran"),
    ]
    assert record.records[0].result is not None and record.records[0].result.output == "logs of web\n"
    assert record.records[2].reason == "not confirmed"
    assert "This step needs confirmation: type yes to run it" in ask.questions
    assert outcome(runbook, record.passed()) is Outcome.SUCCESS
    text = console.export_text()
    assert "step 3/5 · Resolution" in text and "DANGEROUS: rm -rf" in text


def test_interactive_run_asks_for_missing_values_and_skips_with_reason(write: Write) -> None:
    runbook = parse_file(write("web.md", RUNBOOK))
    steps = select_steps(runbook, section="Diagnosis")
    ask = Script("checkout", "skip", "not needed")
    console = Console(record=True, width=200)
    record = run_interactive(runbook, steps, {}, ask=ask, console=console)
    assert ask.questions[0] == "Value for <service> (empty to leave unfilled)"
    assert [(r.step.index, r.action, r.reason) for r in record.records] == [(1, "skipped", "not needed")]
    assert '$ echo "logs of checkout"' in console.export_text()


def test_interactive_run_refuses_a_bad_value_and_can_quit(write: Write) -> None:
    runbook = parse_file(write("web.md", RUNBOOK))
    record = run_interactive(runbook, runbook.steps, {}, ask=Script("BAD VALUE", "quit"), console=Console(record=True))
    assert record.records[0].action == "skipped" and "unfilled" in record.records[0].reason
    assert record.quit


def test_run_command_with_injected_prompt_and_failed_verification(
    write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write("web.md", RUNBOOK)
    monkeypatch.setattr(cli, "ASK", Script("run", "done", "", "skip", "later", "done", "", "run"))
    result = runner.invoke(app, ["run", str(path), "--param", "service=api"])
    assert result.exit_code == 1, result.output  # the verify step `test "api" = web` failed
    assert "outcome: failed" in result.stdout
