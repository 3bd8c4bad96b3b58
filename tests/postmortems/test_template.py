"""A team's own template: used for the draft, a broken one reported by `config check` with its line, and a
template that fails while rendering answered 422 naming it (never a 500)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from warroom.cli import build
from warroom.config import ConfigError, parse_config_text

TEMPLATE = """# {{ incident.title }} / {{ incident.severity }}
Commander: {{ incident.commander }}
{% for p in phases %}{{ p.name }}={{ p.state }} {% endfor %}

## Action Items
{% for item in action_items %}{{ item }}
{% endfor %}"""


@pytest.fixture
def config(tmp_path: Path):
    (tmp_path / "pm.md").write_text(TEMPLATE)
    (tmp_path / "typo.md").write_text("# {{ incident.titel }}\n")
    (tmp_path / "warroom.yaml").write_text("postmortems:\n  template: pm.md\n  required_for: [P0]\n")
    return parse_config_text(
        f"users:\n  - {{id: alice, name: Alice}}\npostmortems:\n  template: {tmp_path / 'pm.md'}\n"
    )


def test_the_configured_template_drafts_the_postmortem(api, make_incident):
    make_incident(severity="P2", commander="alice")
    assert api.post("/api/v1/action-items", json={"incident": 1, "text": "Fix it", "owner": "alice"}).status_code == 201
    body = api.post("/api/v1/incidents/1/postmortem").json()["body"]
    assert body.startswith("# Checkout API 502s / P2\nCommander: alice\ndetect=met acknowledge=running")
    assert body.endswith("## Action Items\n- [ ] Fix it - Owner: @alice\n")


def test_config_check_names_the_templates_broken_line(tmp_path: Path):
    (tmp_path / "broken.md").write_text("# {{ incident.title }}\n\n{% for e in timeline %}\n- {{ e.time }\n")
    (tmp_path / "warroom.yaml").write_text(
        "services: []\npostmortems:\n  required_for: [P0, P7]\n  template: broken.md\n"
    )
    result = CliRunner().invoke(build(), ["config", "check", str(tmp_path / "warroom.yaml")])
    assert result.exit_code == 1
    assert "warroom.yaml:4: postmortems.template: " in result.output
    assert "broken.md, line 4: unexpected '}'" in result.output
    assert "warroom.yaml:3: postmortems.required_for.1: unknown severity 'P7'" in result.output
    with pytest.raises(ConfigError):
        parse_config_text((tmp_path / "warroom.yaml").read_text(), str(tmp_path / "warroom.yaml"))


@pytest.mark.backend("sqlite")
def test_a_template_that_fails_to_render_is_a_422(runtime, api, make_incident, tmp_path: Path):
    (tmp_path / "typo.md").write_text("# {{ incident.titel }}\n")
    runtime.config.postmortems.template = str(tmp_path / "typo.md")
    make_incident()
    answer = api.post("/api/v1/incidents/1/postmortem")
    assert answer.status_code == 422
    assert "typo.md" in answer.json()["detail"] and "titel" in answer.json()["detail"]
    assert api.get("/api/v1/postmortems/1").status_code == 404  # nothing half-written


@pytest.mark.backend("sqlite")
def test_the_sandbox_keeps_templates_away_from_python(runtime, api, make_incident, tmp_path: Path):
    (tmp_path / "evil.md").write_text("{{ incident.__class__.__mro__ }}{{ ''.__class__.__subclasses__() }}\n")
    runtime.config.postmortems.template = str(tmp_path / "evil.md")
    make_incident()
    answer = api.post("/api/v1/incidents/1/postmortem")
    assert answer.status_code == 422
    assert "unsafe" in answer.json()["detail"], answer.json()


def test_custom_severities_without_required_for_warn_but_load(tmp_path: Path):
    text = (
        "severities:\n  - {name: SEV1, acknowledge: 5m, response: 10m, detection: 1m, mitigation: 4m, recovery: 10m}\n"
    )
    (tmp_path / "warroom.yaml").write_text(text)
    parse_config_text(text)
    result = CliRunner().invoke(build(), ["config", "check", str(tmp_path / "warroom.yaml")])
    assert result.exit_code == 0, result.output
    assert "warning: no severity requires a post-mortem" in result.output
