"""Monitors in warroom.yaml: `warroom config check` names the file, line and reason of each problem."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from warroom.cli import app
from warroom.config import ConfigError, parse_config_text

GOOD = """\
monitors:
  - name: checkout-health
    service: checkout
    type: http
    url: http://127.0.0.1:8081/health
    interval: 30s
    expect: {status: [200], json: {"$.status": "ok"}, max_latency: 2s}
    down_after: 3
    severity: P1
  - name: nightly-backup
    service: backups
    type: heartbeat
    period: 24h
    grace: 1h
  - name: api-errors
    service: api
    type: log
    path: /var/log/api.log
    pattern: 'Failed password for \\S+ from (?P<ip>\\S+)'
    group_by: ip
    for: 5m
monitoring:
  raw_retention: 3d
  log_folders: [/var/log]
"""


def problems(text):
    with pytest.raises(ConfigError) as info:
        parse_config_text(text, "warroom.yaml")
    return [str(p) for p in info.value.problems]


def test_the_issue_example_parses_with_defaults():
    config = parse_config_text(GOOD)
    health, backup, log = config.monitors
    assert (health.interval, health.down_after, health.severity, health.expect.max_latency) == (30.0, 3, "P1", 2.0)
    assert health.expect.json_ == {"$.status": "ok"}
    assert (backup.period, backup.grace, backup.interval) == (86400.0, 3600.0, 30.0)
    assert log.down_for == 300.0
    assert config.monitoring.raw_retention == 3 * 86400


def test_unknown_type_names_the_line():
    text = "monitors:\n  - name: a\n    service: s\n    type: ftp\n"
    (problem,) = problems(text)
    assert problem.startswith("warroom.yaml:4: monitors.0.type: Input should be 'http', 'tcp'")


def test_missing_field_names_the_monitor_line_and_the_field():
    text = (
        "monitors:\n  - name: ok\n    service: s\n    type: tcp\n    host: db\n    port: 5432\n"
        "  - name: web\n    service: s\n    type: http\n"
    )
    assert problems(text) == ["warroom.yaml:7: monitors.1.url: a http monitor needs 'url'"]


def test_bad_regex_names_its_line():
    text = "monitors:\n  - name: l\n    service: s\n    type: log\n    path: /tmp/x\n    pattern: 'error ('\n"
    (problem,) = problems(text)
    assert problem.startswith("warroom.yaml:6: monitors.0.pattern: Value error, bad regex 'error (': missing )")


def test_bad_duration_names_its_line():
    text = "monitors:\n  - name: t\n    service: s\n    type: tcp\n    host: h\n    port: 1\n    interval: 5 minutes\n"
    (problem,) = problems(text)
    assert problem.startswith("warroom.yaml:7: monitors.0.interval: Value error, invalid duration '5 minutes'")


def test_a_field_of_another_type_and_a_typo_are_rejected():
    base = "monitors:\n  - name: t\n    service: s\n    type: tcp\n    host: h\n    port: 1\n    pattern: x\n"
    text = base + "    retries: 3\n"
    assert problems(text) == ["warroom.yaml:8: monitors.0.retries: Extra inputs are not permitted"]
    text = "monitors:\n  - name: t\n    service: s\n    type: tcp\n    host: h\n    port: 1\n    pattern: x\n"
    (problem,) = problems(text)
    assert problem.startswith("warroom.yaml:7: monitors.0.pattern: 'pattern' does not apply to a tcp monitor")


def test_duplicates_unknown_severity_and_bad_threshold():
    text = (
        "monitors:\n"
        "  - {name: a, service: s, type: memory, severity: P9}\n"
        "  - {name: a, service: s, type: memory}\n"
        "  - name: b\n    service: s\n    type: disk\n    path: /\n    fail_if: more than 90\n"
    )
    found = problems(text)
    # One pass: the schema error of the third monitor does not hide the cross-checks of the other two.
    assert found == [
        "warroom.yaml:8: monitors.2.fail_if: Value error, invalid threshold 'more than 90': "
        "write an operator and a number, e.g. '> 0.9' or '>= 85'",
        "warroom.yaml:2: monitors.0.severity: unknown severity 'P9': expected one of P0, P1, P2, P3, P4",
        "warroom.yaml:3: monitors.1.name: duplicate monitor 'a'",
    ]
    found = problems(text.replace("more than 90", "'> 90'"))  # unquoted, YAML reads > as a folded block
    assert found == [
        "warroom.yaml:2: monitors.0.severity: unknown severity 'P9': expected one of P0, P1, P2, P3, P4",
        "warroom.yaml:3: monitors.1.name: duplicate monitor 'a'",
    ]


def test_cli_config_check_prints_each_problem_and_exits_1(tmp_path):
    path = tmp_path / "warroom.yaml"
    path.write_text("monitors:\n  - name: web\n    service: s\n    type: http\n    expect: {regex: '['}\n")
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 1
    output = result.output.replace("\n", "")  # Rich wraps long lines
    assert f"error: {path}:5: monitors.0.expect.regex: Value error, bad regex '[': unterminated" in output
    path.write_text(GOOD)
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert (result.exit_code, result.stdout.strip()) == (0, f"{path}: ok")


def test_a_log_file_outside_log_folders_names_the_line():
    text = GOOD.replace("path: /var/log/api.log", "path: /etc/shadow")
    (problem,) = problems(text)
    assert problem == (
        "warroom.yaml:18: monitors.2.path: /etc/shadow is not under a folder of monitoring.log_folders (/var/log)"
    )
    (off,) = problems(GOOD.replace("  log_folders: [/var/log]\n", ""))
    assert off.startswith("warroom.yaml:18: monitors.2.path: log monitors are off: list the folders")


def test_log_folders_are_absolute():
    # Every problem in one pass: the refused folder, and the log monitor that is left with no folder.
    found = problems(GOOD.replace("log_folders: [/var/log]", "log_folders: [logs]"))
    assert any("monitoring.log_folders" in p and "must be an absolute path" in p for p in found), found
