"""warroom.yaml's alerts sections are checked with line numbers; every alerts command and setting is documented."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from warroom.alerts import cli
from warroom.alerts.config import InhibitRuleConfig, IntegrationConfig, RouteConfig
from warroom.config import ConfigError, parse_config_text

DOCS = (Path(__file__).parents[2] / "docs" / "alerts.md").read_text()


def test_config_problems_carry_their_line():
    text = """services:
  - name: checkout
routes:
  - name: db
    match: ['env=~"("']
  - name: db
    service: nowhere
    severity: P9
inhibit:
  - source: [alertname=A]
    target: []
"""
    with pytest.raises(ConfigError) as info:
        parse_config_text(text)
    problems = [str(p) for p in info.value.problems]
    assert any(p.startswith("warroom.yaml:5: routes.0.match") and "Invalid regular expression" in p for p in problems)
    assert any(p.startswith("warroom.yaml:8: routes.1.severity") and "unknown severity 'P9'" in p for p in problems)
    assert any(p.startswith("warroom.yaml:11: inhibit.0.target") for p in problems)


def test_duplicate_routes_and_unknown_services_are_reported():
    text = """services:
  - name: checkout
routes:
  - name: web
    service: checkout
  - name: web
    service: nowhere
"""
    with pytest.raises(ConfigError) as info:
        parse_config_text(text)
    assert [str(p) for p in info.value.problems] == [
        "warroom.yaml:6: routes.1.name: duplicate route 'web'",
        "warroom.yaml:7: routes.1.service: unknown service 'nowhere': add it under services: or fix the name",
    ]


@pytest.mark.parametrize(
    ("app", "name"),
    [
        (cli.integration_app, "integration"),
        (cli.alert_app, "alert"),
        (cli.route_app, "route"),
        (cli.silence_app, "silence"),
        (cli.maintenance_app, "maintenance"),
    ],
)
def test_every_command_is_in_the_docs(app: typer.Typer, name: str):
    for command in app.registered_commands:
        assert f"warroom {name} {command.name}" in DOCS, f"warroom {name} {command.name} is not documented"


@pytest.mark.parametrize("model", [RouteConfig, InhibitRuleConfig, IntegrationConfig])
def test_every_setting_is_in_the_docs(model):
    for field_name, info in model.model_fields.items():
        key = info.alias or field_name
        assert f"{key}:" in DOCS, f"{model.__name__}.{key} is not documented"
