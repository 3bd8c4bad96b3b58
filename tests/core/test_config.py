"""warroom.yaml validation reports every problem with its line; settings come from the environment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from warroom.cli import app
from warroom.config import ConfigError, Settings, parse_config_text
from warroom.timeparse import format_duration, parse_duration


def test_custom_severities_replace_the_defaults():
    config = parse_config_text(
        """
severities:
  - {name: SEV1, acknowledge: 5m, response: 10m, detection: 1m, mitigation: 4m, recovery: 10m, page: true}
  - {name: SEV2, acknowledge: 1h, response: 2h, detection: 10m, mitigation: 1h, recovery: 2h, total: 4h}
"""
    )
    table = config.severity_table()
    assert table.names() == ["SEV1", "SEV2"]
    assert table.get("sev2").resolve == timedelta(hours=4)
    assert table.get("SEV1").resolve == timedelta(minutes=15)


def test_problems_name_their_line():
    text = """services:
  - name: checkout
  - name: checkout
severities:
  - name: P0
    acknowledge: soon
    response: 1m
    detection: 1m
    mitigation: 1m
    recovery: 1m
  - name: P1
    colour: red
"""
    with pytest.raises(ConfigError) as info:
        parse_config_text(text, "warroom.yaml")
    messages = [str(p) for p in info.value.problems]
    assert any(
        m.startswith("warroom.yaml:6: severities.0.acknowledge") and "invalid duration" in m for m in messages
    ), messages
    assert any(m.startswith("warroom.yaml:12: severities.1.colour") for m in messages), messages


def test_duplicates_are_reported():
    with pytest.raises(ConfigError) as info:
        parse_config_text("services:\n  - name: a\n  - name: a\n")
    assert str(info.value.problems[0]) == "warroom.yaml:3: services.1.name: duplicate service 'a'"


def test_invalid_yaml_is_reported_with_its_line():
    with pytest.raises(ConfigError) as info:
        parse_config_text("services:\n  - name: [unclosed\n")
    assert info.value.problems[0].line is not None


def test_config_check_command(tmp_path):
    good = tmp_path / "warroom.yaml"
    good.write_text("services:\n  - name: checkout\n")
    result = CliRunner().invoke(app, ["config", "check", str(good)])
    assert result.exit_code == 0 and "ok" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("servces: []\n")
    result = CliRunner().invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:1: servces: Extra inputs are not permitted" in result.stderr


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WARROOM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WARROOM_PORT", "9090")
    settings = Settings()
    assert settings.port == 9090
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'warroom.db'}"
    monkeypatch.setenv("WARROOM_DATABASE_URL", "postgres://u@127.0.0.1/db")
    assert Settings().resolved_database_url() == "postgresql+psycopg://u@127.0.0.1/db"


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("1w", 604800), ("45", 45)]
)
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


def test_bad_durations_say_what_is_accepted():
    with pytest.raises(ValueError, match=r"e\.g\. 30s, 5m"):
        parse_duration("5 minutes")
    assert format_duration(timedelta(minutes=65)) == "1h 05m"
