"""`oncall who` and `policy list` on an installation with nothing configured point at the docs instead of
printing nothing."""

from __future__ import annotations

from typer.testing import CliRunner

from warroom.cli import app


def test_nothing_configured_says_so(live_server, make_token, monkeypatch):
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("viewer"))
    runner = CliRunner()
    who = runner.invoke(app, ["oncall", "who"])
    assert (who.exit_code, who.stdout.strip()) == (0, "no schedule configured — see docs/oncall.md")
    policies = runner.invoke(app, ["policy", "list"])
    assert (policies.exit_code, policies.stdout.strip()) == (0, "no policy configured — see docs/oncall.md")
    assert runner.invoke(app, ["policy", "list", "--json"]).stdout.strip() == "[]"
