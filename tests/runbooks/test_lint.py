"""Lint on good and broken runbooks: `file:line: level: message`, errors vs warnings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from warroom.runbooks.cli import app
from warroom.runbooks.lint import has_errors, lint_many, lint_runbook
from warroom.runbooks.model import Level
from warroom.runbooks.parser import parse_file

Write = Callable[[str, str], Path]
TODAY = date(2026, 3, 1)

GOOD = """
---
id: disk-full
title: Disk full
services: [api]
match: ['alertname=DiskFull']
last_reviewed: 2026-02-01
review_every: 90d
params:
  - name: volume
    default: /var
    pattern: '/[a-z/]+'
required_sections: [Detection, Resolution, Verification]
---
# Disk full

## Detection
```bash
df -h <volume>
```

## Resolution
```bash {confirm}
docker system prune -f
```

## Verification
```bash {verify}
test "$(df --output=pcent <volume> | tail -1 | tr -dc 0-9)" -lt 90
```
"""


def codes(messages: list) -> list[tuple[int, str, str]]:  # type: ignore[type-arg]
    return [(m.line, m.level.value, m.code) for m in messages]


def test_good_runbook_is_clean(write: Write) -> None:
    rb = parse_file(write("disk.md", GOOD))
    assert lint_runbook(rb, today=TODAY) == []


def test_broken_runbook_reports_each_problem_with_its_line(write: Write) -> None:
    path = write(
        "broken.md",
        """
        ---
        id: broken
        last_reviewed: 2025-01-01
        review_every: 30d
        required_sections: [Verification, Rollback]
        ---
        # Broken

        ## Empty

        ## Fix
        ```bash
        redis-cli -h <redis_host> flushall
        bash <<EOF
        <service>
        EOF
        echo "unclosed
        ```

        ## Tail
        ```bash
        echo no end
    """,
    )
    messages = lint_runbook(parse_file(path), today=TODAY)
    assert codes(messages) == [
        (1, "error", "missing-section"),
        (1, "error", "missing-section"),
        (1, "warning", "review-due"),
        (9, "warning", "empty-section"),
        (13, "warning", "confirm"),
        (13, "warning", "undeclared-placeholder"),
        (14, "error", "unsafe-placeholder"),
        (14, "warning", "undeclared-placeholder"),
        (17, "error", "unbalanced"),
        (21, "error", "unclosed-fence"),
    ]
    text = [str(m) for m in messages]
    assert text[0] == f"{path}:1: error: required section 'Verification' is missing"
    assert has_errors(messages)


def test_broken_front_matter_is_an_error_but_the_runbook_still_loads(write: Write) -> None:
    rb = parse_file(
        write(
            "yaml.md",
            """
        ---
        id: [unclosed
        ---
        # Still here
        ```bash
        uptime
        ```
    """,
        )
    )
    assert rb.title == "Still here" and rb.id == "yaml"
    assert [(p.line, p.code) for p in rb.problems] == [(2, "front-matter")]
    unclosed = parse_file(write("open.md", "---\nid: x\n# Title\n"))
    assert [p.code for p in unclosed.problems] == ["front-matter"]


def test_duplicate_ids_across_files(write: Write) -> None:
    a = parse_file(write("a/one.md", "---\nid: same\n---\n# A\ntext\n"))
    b = parse_file(write("b/two.md", "---\nid: same\n---\n# B\ntext\n"))
    messages = lint_many([a, b], today=TODAY)
    assert [(m.file.endswith(("one.md", "two.md")), m.code) for m in messages] == [
        (True, "duplicate-id"),
        (True, "duplicate-id"),
    ]


def test_fillable_names_silence_unfillable_warnings(write: Write) -> None:
    front = "---\nparams: [{name: container}, {name: widget}]\n---\n"
    rb = parse_file(write("x.md", front + "# X\n```bash\ndocker logs <container> <widget>\n```\n"))
    assert [m.message.split()[1] for m in lint_runbook(rb, today=TODAY)] == ["<widget>"]
    assert lint_runbook(rb, today=TODAY, fillable={"container", "widget"}) == []


def test_seeds_lint_without_errors(seeds_dir: Path) -> None:
    runbooks = [parse_file(p) for p in sorted(seeds_dir.glob("*"))]
    messages = lint_many(runbooks, today=TODAY)
    assert not has_errors(messages)
    assert {m.level for m in messages} == {Level.WARNING}


def test_lint_command_exit_codes(write: Write, seeds_dir: Path) -> None:
    runner = CliRunner()
    good = write("good.md", GOOD)
    result = runner.invoke(app, ["lint", str(good), "--today", "2026-03-01"])
    assert result.exit_code == 0, result.output
    broken = write("bad.md", "# Bad\n```bash\necho 'x\n```\n")
    result = runner.invoke(app, ["lint", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:3: error: command has unbalanced quoting: single quote left open" in result.stdout
    result = runner.invoke(app, ["lint", *map(str, sorted(seeds_dir.glob("*"))), "--strict"])
    assert result.exit_code == 1
    assert runner.invoke(app, ["lint"], env={"WARROOM_RUNBOOK_DIRS": ""}).exit_code == 2
