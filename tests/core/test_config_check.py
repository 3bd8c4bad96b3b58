"""`warroom config check`: every problem in one pass, references to policies and runbooks, paging that reaches
nobody, and JSON for CI."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from warroom.cli import app

ONE_OF_EACH = """\
services:
  - name: checkout
  - name: checkout
policies:
  - id: Not An Id
monitors:
  - name: web
    service: checkout
    type: http
    url: [unclosed
"""


def check(*args: str):
    return CliRunner().invoke(app, ["config", "check", *args])


def test_a_yaml_error_hides_neither_schema_errors_nor_cross_checks(tmp_path):
    path = tmp_path / "warroom.yaml"
    path.write_text(ONE_OF_EACH)
    result = check(str(path))
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]
    assert [line.split(": ")[0] for line in lines] == ["error", "error", "error"]
    assert any(f"{path}:10: not valid YAML" in line for line in lines)  # the monitors section
    assert any(f"{path}:5: policies.0.id:" in line for line in lines)  # the schema of another section
    assert f"error: {path}:3: services.1.name: duplicate service 'checkout'" in lines  # a cross-check


def test_routes_naming_an_unknown_policy_or_runbook_are_reported(tmp_path):
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "db.md").write_text("---\nid: db-failover\n---\n# DB failover\n\n1. Check it\n")
    path = tmp_path / "warroom.yaml"
    path.write_text(
        "runbooks:\n  folders: [runbooks]\n"
        "policies:\n  - id: default\n    levels: [{notify: [user:alice]}]\n"
        "users:\n  - {id: alice, name: Alice}\n"
        "routes:\n"
        "  - {name: db, match: [service=db], policy: dba, runbook: db-failover}\n"
        "  - {name: web, match: [service=web], policy: default, runbook: web-restart}\n"
    )
    result = check(str(path))
    assert result.exit_code == 1, result.output
    errors = result.stderr.splitlines()
    assert errors == [
        f"error: {path}:9: routes.0.policy: unknown policy 'dba': expected one of default",
        f"error: {path}:10: routes.1.runbook: unknown runbook 'web-restart': no runbook has this id in {runbooks}",
    ]


def test_paging_severities_without_a_policy_are_a_warning(tmp_path):
    path = tmp_path / "warroom.yaml"
    path.write_text("services:\n  - name: checkout\n")
    result = check(str(path))
    assert result.exit_code == 0
    assert result.stdout.strip() == f"{path}: ok"
    assert result.stderr.strip() == (
        "warning: severities P0, P1, P2 page, but no policy is defined: nobody will be paged "
        "(define a policy called `default`, see docs/oncall.md)"
    )


def test_json_for_ci(tmp_path):
    path = tmp_path / "warroom.yaml"
    path.write_text(ONE_OF_EACH)
    result = check(str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["path"] == str(path)
    assert {p["location"] for p in report["problems"]} == {"", "policies.0.id", "services.1.name"}
    assert all(p["level"] == "error" and "line" in p and "message" in p for p in report["problems"])
    path.write_text("services: []\n")
    report = json.loads(check(str(path), "--json").stdout)
    assert report["ok"] is True and report["problems"] == []
    assert [p["level"] for p in report["warnings"]] == ["warning"]
