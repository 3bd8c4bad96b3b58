"""CSV cells from outside names never become spreadsheet formulas."""

from __future__ import annotations

import csv
import io

from warroom.reports.render import to_csv


def test_names_starting_like_a_formula_are_written_as_text():
    summary = {"count": 0, "median": None, "p90": None, "mean": None}
    row = {
        "runbook": '=HYPERLINK("http://127.0.0.1/x")',
        "title": "+1 restart",
        "uses": 1,
        "incidents": 1,
        "succeeded": 0,
        "failed": 0,
        "success_rate": None,
        "average_run_seconds": None,
        "resolve_with": summary,
        "resolve_without": summary,
    }
    rows = list(csv.DictReader(io.StringIO(to_csv("runbooks", {"runbooks": [row]}))))
    assert rows[0]["runbook"] == '\'=HYPERLINK("http://127.0.0.1/x")'
    assert rows[0]["title"] == "'+1 restart"
    assert rows[0]["uses"] == "1"
