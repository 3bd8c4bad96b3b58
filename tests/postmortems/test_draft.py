"""A whole incident driven through the API (alert, page, ack, runbook step, resolve), then its post-mortem
drafted, and every prefilled section checked against what happened."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.alerts.conftest import am_alert, am_payload
from warroom.alerts import integrations


def _section(body: str, heading: str) -> list[str]:
    lines = body.split("\n")
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return [line for line in lines[start:end] if line.strip()]


def drive_incident(
    runtime: Any, app: Any, api: TestClient, carol: TestClient, engine: Any, clock: Any, webhook: Any
) -> None:
    """09:00 alert (began 08:58) → alice paged → 09:01 carol notes → 09:03 alice acks → 09:06 monitoring →
    09:10 resolved."""
    with runtime.db.transaction() as session:
        _, key = integrations.create_integration(
            session, name="am", type="alertmanager", created_by="tests", now=runtime.clock.now()
        )
    sender = TestClient(app, raise_server_exceptions=False)
    alert = am_alert("CheckoutDown", service="checkout", starts_at="2026-01-05T08:58:00Z")
    assert sender.post(f"/api/v1/intake/{key}", json=am_payload(alert)).status_code == 200
    engine.run_due()
    webhook.wait_for(1, path="alice")
    clock.advance(minutes=1)
    assert carol.post("/api/v1/incidents/1/notes", json={"message": "customers report 502s"}).status_code == 201
    clock.advance(minutes=2)
    assert api.post("/api/v1/incidents/1/acknowledge").status_code == 200
    assert api.patch("/api/v1/incidents/1", json={"commander": "alice", "severity": "P1"}).status_code == 200
    clock.advance(minutes=3)
    assert api.patch("/api/v1/incidents/1", json={"status": "monitoring", "message": "rolled back"}).status_code == 200
    clock.advance(minutes=4)
    assert api.post("/api/v1/incidents/1/resolve", json={"message": "error rate normal"}).status_code == 200
    engine.run_due()


def test_the_draft_holds_the_record(runtime, app, api, client_for, engine, clock, webhook):
    drive_incident(runtime, app, api, client_for("responder", "carol"), engine, clock, webhook)
    response = api.post("/api/v1/incidents/1/postmortem")
    assert response.status_code == 201, response.text
    pm = response.json()
    assert (pm["state"], pm["version"], pm["required"]) == ("draft", 1, True)
    body = pm["body"]
    assert body.startswith("# Post-Mortem: CheckoutDown on checkout\n")
    summary = _section(body, "## Summary")
    assert "- **Incident**: #1" in summary
    assert "- **Date**: 2026-01-05" in summary
    assert "- **Severity**: P1 (Major feature broken or severe degradation)" in summary
    assert "- **Services**: checkout" in summary
    assert "- **Commander**: @alice" in summary
    assert "- **Responders**: @carol, @alice" in summary
    # Began 08:58 (the alert's startsAt), resolved 09:10.
    assert "- **Duration**: 12m (started 08:58, resolved 09:10 UTC)" in summary
    assert any(line.startswith("- **Users affected**: _to fill_") for line in _section(body, "## Impact"))
    # Detected 09:00 (2 min), acknowledged 09:03, mitigated 09:06, resolved 09:10.
    # P1 targets: detect 5m, acknowledge 15m, mitigate 10m, recover 15m; the total is 5 + 10 + 15.
    phases = _section(body, "## Phases against targets")[2:]
    assert phases == [
        "| detect | 2m | 5m | met |",
        "| acknowledge | 3m | 15m | met |",
        "| mitigate | 6m | 10m | met |",
        "| recover | 4m | 15m | met |",
        "| resolve | 12m | 30m | met |",
    ]
    timeline = _section(body, "## Timeline (UTC)")
    # Only the significant events: no deliveries, reminders or each alert attached. (The step's own run time is
    # in its line: the one part the test cannot know.)
    step = next(i for i, line in enumerate(timeline) if "Runbook step ran" in line)
    assert timeline[step].startswith("- 09:00 - Runbook step ran: step 1 succeeded (exit 0 in ")
    assert timeline[step].endswith("): printf 'checkout ok\\n' (warroom)")
    assert timeline[:step] + timeline[step + 1 :] == [
        "- 09:00 - Incident declared [P1]: CheckoutDown on checkout (am)",
        "- 09:00 - Runbook started: runbook Checkout down started (automatically) (warroom)",
        "- 09:00 - Paged: level 1: paging alice by json (warroom)",
        "- 09:01 - Note: customers report 502s (carol)",
        "- 09:03 - Acknowledged (alice)",
        "- 09:03 - Commander changed: commander is now alice (alice)",
        "- 09:06 - Status: acknowledged → monitoring (rolled back) (alice)",
        "- 09:10 - Resolved: error rate normal (alice)",
        "- 09:10 - Runbook finished: runbook Checkout down finished: unknown (incident resolved) (alice)",
    ]
    assert _section(body, "## Alerts that fired") == ["- 09:00 - CheckoutDown on checkout"]
    assert _section(body, "## Paging") == ["- 09:00 - level 1 paged @alice; answered at 09:03 (after 3m)"]
    steps = _section(body, "## Runbook steps run")
    assert steps == ["- 09:00 - checkout-down step 1: Is the checkout answering - succeeded (warroom)"]
    root = _section(body, "## Root Cause")
    assert [line for line in root if line.startswith(("1. Why?", "5. Why?"))] == [
        "1. Why? _to fill_",
        "5. Why? _to fill_",
    ]
    assert "### What went well" in body and "### What could be improved" in body
    assert _section(body, "## Action Items") == []


def test_a_second_draft_is_a_conflict_and_an_unknown_incident_a_404(runtime, api, make_incident, clock):
    make_incident(severity="P3")
    assert api.post("/api/v1/incidents/1/postmortem").status_code == 201
    again = api.post("/api/v1/incidents/1/postmortem")
    assert again.status_code == 409 and "already has a post-mortem" in again.json()["detail"]
    assert api.post("/api/v1/incidents/9/postmortem").status_code == 404
    assert api.get("/api/v1/postmortems/9").status_code == 404
