"""A paging severity with no escalation policy pages nobody: that must be said where people look."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from warroom.cli import app

runner = CliRunner()


@pytest.fixture
def cli(live_server, make_token, monkeypatch):
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("responder", "rita"))

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result.stdout + result.stderr

    return run


def test_a_p1_on_a_fresh_install_says_nobody_was_paged(cli, api):
    out = cli("incident", "declare", "--severity", "P1", "--title", "Checkout API 502s")
    assert "#1 [P1] Checkout API 502s" in out
    assert "nobody paged: no policy" in out
    events = api.get("/api/v1/incidents/1").json()["timeline"]
    skipped = [e for e in events if e["kind"] == "paging_skipped"]
    assert len(skipped) == 1 and skipped[0]["message"].startswith("nobody paged: no policy")


def test_a_severity_that_does_not_page_says_nothing_about_paging(cli, api):
    out = cli("incident", "declare", "--severity", "P3", "--title", "Typo on the status page")
    assert "paged" not in out
    assert [e["kind"] for e in api.get("/api/v1/incidents/1").json()["timeline"] if "paging" in e["kind"]] == []
