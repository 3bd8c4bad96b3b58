"""The reports API as a client sees it: formats, charts, bad input naming the field, roles."""

from __future__ import annotations

import base64
import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from tests.reports.conftest import EVIL, SINCE, UNTIL

PROBLEM = "application/problem+json"
PERIOD = {"since": SINCE, "until": UNTIL}


@pytest.fixture
def viewer(month, client_for: Callable[..., TestClient]) -> TestClient:
    return client_for("viewer")


def _csv(client: TestClient, section: str) -> list[dict[str, str]]:
    return list(
        csv.DictReader(io.StringIO(client.get(f"/api/v1/reports/{section}", params={**PERIOD, "format": "csv"}).text))
    )


def test_csv_sections_have_a_header_and_one_row_per_thing(viewer):
    response = viewer.get("/api/v1/reports/incidents", params={**PERIOD, "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["group"] for r in rows] == ["(all)", "P1", "P2"]
    assert rows[1]["acknowledge_median_s"] == "600.0" and rows[1]["resolve_target_share"] == "0.5"
    load = _csv(viewer, "load")
    assert [(r["person"], r["pages"], r["night_pages"]) for r in load] == [
        ("bob", "5", "3"), ("alice", "4", "2"), ("carol", "2", "1"),
    ]  # fmt: skip
    trend = viewer.get("/api/v1/reports/trend", params={**PERIOD, "format": "csv"}).text.splitlines()
    assert trend[0] == "bucket,group,incidents" and "2026-11-16,(all),2" in trend and "2026-11-16,P2,2" in trend
    runbooks = _csv(viewer, "runbooks")
    assert [(r["runbook"], r["uses"], r["success_rate"]) for r in runbooks] == [
        ("restart-web", "3", "0.667"), ("db-failover", "2", ""),
    ]  # fmt: skip


def test_names_in_csv_are_as_given(viewer):
    text = viewer.get("/api/v1/reports/incidents", params={**PERIOD, "group_by": "service", "format": "csv"}).text
    assert EVIL in text  # a name starting with '<' stays as it is
    noise = viewer.get("/api/v1/reports/noise", params={**PERIOD, "format": "csv"}).text
    assert "noisiest,HighLatency,4" in noise and "no_incident,silenced,1" in noise


def test_the_retrospective_in_markdown_embeds_charts_and_escapes_names(viewer):
    response = viewer.get("/api/v1/reports/retrospective", params={**PERIOD, "group_by": "service"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/markdown")
    text = response.text
    assert text.startswith("# Incident retrospective: 2026-11-01 to 2026-12-01")
    for heading in ("## Response against targets", "## Charts", "## Alert noise", "## On-call load",
                    "## Runbook effectiveness", "## Action items"):  # fmt: skip
        assert heading in text
    assert "| (all) | 8 | MTTA (acknowledge) | 20m | 35m | 18m 34s | 57% (4/7) |" in text
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "| Restart Web | 3 | 67% | 6m | 36m (3) | 17m (1) |" in text
    assert "## Action items\n\nOpened 4, done 1, overdue 2." in text
    images = re.findall(r"!\[[^\]]*\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", text)
    assert len(images) == 3
    for image in images:
        ET.fromstring(base64.b64decode(image))  # each embedded chart is well-formed SVG


def test_the_whole_report_as_json(viewer):
    report = viewer.get("/api/v1/reports/retrospective", params={**PERIOD, "format": "json"}).json()
    assert set(report) == {"period", "incidents", "trend", "noise", "load", "runbooks", "actions"}
    assert report["period"]["since"] == "2026-11-01T00:00:00+00:00" and report["period"]["group_by"] == "severity"


@pytest.mark.parametrize("name", ["trend", "mtta", "mttr"])
def test_charts_are_svg(viewer, name):
    response = viewer.get(f"/api/v1/reports/charts/{name}.svg", params=PERIOD)
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    svg = ET.fromstring(response.text)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(svg.findall("{http://www.w3.org/2000/svg}rect")) > 1  # the background and some bars
    assert "script" not in response.text.lower()


def test_mtta_chart_shows_each_severity_against_its_target(viewer):
    svg = viewer.get("/api/v1/reports/charts/mtta.svg", params=PERIOD).text
    # P1 median 10m against 15m, P2 30m against 30m; P0, P3, P4 had no incident (no bar, a target line).
    assert "P1: 10m" in svg and "P2: 30m" in svg and "P0:" not in svg
    assert svg.count('stroke-dasharray="4 2"') == 5 + 1  # a target per severity, and the legend


def test_the_default_period_is_the_last_30_days(viewer):
    # The clock is on 2026-12-01 09:00: the default covers 2026-11-01 09:00 on, so #1 (10:00) is in it.
    report = viewer.get("/api/v1/reports/incidents").json()
    assert report["period"]["since"] == "2026-11-01T09:00:00+00:00"
    assert report["incidents"]["total"] == 8


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-12-01", "until": "2026-11-01"}, "since"),
        ({"since": "2026-11-01", "until": "2026-11-01"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-45"}, "until"),
        ({"since": "1990-01-01", "until": "2026-01-01"}, "since"),  # 36 years: absurd
        ({"group_by": "colour"}, "group_by"),
        ({"bucket": "fortnight"}, "bucket"),
        ({"flap_minutes": "0"}, "flap_minutes"),
        ({"flap_minutes": "many"}, "flap_minutes"),
        ({"include_drills": "perhaps"}, "include_drills"),
        ({"format": "xlsx"}, "format"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(viewer, params, field):
    response = viewer.get("/api/v1/reports/incidents", params=params)
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == [field]


def test_unknown_section_and_chart_name_the_field(viewer):
    response = viewer.get("/api/v1/reports/everything")
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["section"]
    response = viewer.get("/api/v1/reports/charts/pie.svg")
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["name"]
    assert viewer.get("/api/v1/reports/retrospective", params={"format": "csv"}).status_code == 422


@pytest.mark.parametrize(
    "path",
    ["/api/v1/reports/incidents", "/api/v1/reports/retrospective", "/api/v1/reports/charts/trend.svg"],
)
def test_every_role_reads_reports_and_nobody_else(month, client_for, path):
    assert client_for(None).get(path).status_code == 401
    bogus = client_for(None)
    bogus.headers["Authorization"] = "Bearer wr_not-a-real-token"
    assert bogus.get(path).status_code == 401
    for role in ("viewer", "responder", "admin"):
        assert client_for(role).get(path).status_code == 200, role
