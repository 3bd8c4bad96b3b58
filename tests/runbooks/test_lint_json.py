"""`warroom runbook lint --json`: the findings as JSON for CI, with the same exit status."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from warroom.cli import app


def test_lint_json_lists_findings_and_fails_on_errors(tmp_path):
    (tmp_path / "a.md").write_text("---\nid: same\n---\n# A\n\n1. Check it\n")
    (tmp_path / "b.md").write_text("---\nid: same\n---\n# B\n\n1. Check it\n")
    result = CliRunner().invoke(app, ["runbook", "lint", str(tmp_path), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["runbooks"] == 2 and report["errors"] >= 1
    finding = next(f for f in report["findings"] if f["level"] == "error")
    assert set(finding) == {"file", "line", "level", "code", "message"}
    assert "same" in finding["message"]
