"""The Alerts page: firing alerts by group, silence one from its labels, silences, maintenance windows; by role."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from tests.alerts.conftest import am_alert, am_payload
from warroom.alerts import integrations, maintenance, silences
from warroom.auth.models import AuditEntry

pytestmark = pytest.mark.backend("sqlite", "postgresql")


@pytest.fixture
def send(app, runtime):
    """Send Alertmanager alerts to a fresh integration through the real intake."""
    with runtime.db.transaction() as session:
        _, key = integrations.create_integration(
            session, name="prod-am", type="alertmanager", created_by="tests", now=runtime.clock.now()
        )
    client = TestClient(app)

    def post(*alerts):
        answer = client.post(f"/api/v1/intake/{key}", json=am_payload(*alerts))
        assert answer.status_code == 200, answer.text

    yield post
    client.close()


def _silences(runtime):
    with runtime.db.session() as session:
        return silences.list_silences(session, now=runtime.clock.now())


def test_firing_alerts_are_grouped_by_incident_and_labels_are_text(console_for, send):
    hostile = "<script>alert(1)</script>"
    send(am_alert("HighErrorRate", service="checkout", team=hostile), am_alert("DiskFull", service="db"))
    page = console_for("viewer").get("/alerts")
    assert page.status_code == 200
    html = page.text
    assert "Firing (2)" in html
    groups = re.findall(r'<section class="panel alert-group".*?</section>', html, re.S)
    assert len(groups) == 2  # the default route groups by alertname: two groups, two incidents
    assert all(re.search(r'href="/incidents/\d+">Incident #\d+', g) for g in groups)
    assert "team=&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html


def test_a_viewer_sees_no_action_and_cannot_silence(console_for, send, runtime):
    send(am_alert("DiskFull"))
    viewer = console_for("viewer")
    html = viewer.get("/alerts").text
    assert "Silence this alert" not in html and "Add a silence" not in html and "Schedule maintenance" not in html
    refused = viewer.act("/alerts/silences", {"matchers": "alertname=DiskFull", "duration": "1h"})
    assert refused.status_code == 403 and "Not allowed" in refused.text
    assert viewer.act("/alerts/maintenance", {"service": "db", "duration": "1h"}).status_code == 403
    assert _silences(runtime) == []


def test_silence_an_alert_from_its_prefilled_labels_then_expire_it(console_for, send, runtime, clock):
    send(am_alert("DiskFull", service="db", instance="db-1"))
    rita = console_for("responder", "rita")
    listing = rita.get("/alerts").text
    alert_id = re.search(r'href="/alerts\?silence=(\d+)#silence-h"', listing).group(1)
    form = rita.get(f"/alerts?silence={alert_id}").text
    prefilled = re.search(r'<textarea id="s-matchers"[^>]*>(.*?)</textarea>', form, re.S).group(1)
    assert prefilled.splitlines() == [
        "alertname=&#34;DiskFull&#34;",
        "instance=&#34;db-1&#34;",
        "service=&#34;db&#34;",
        "severity=&#34;critical&#34;",
    ]
    # The person edits the matchers: only the alert name and the instance must match.
    answer = rita.act(
        "/alerts/silences", {"matchers": 'alertname="DiskFull"\ninstance=~"db-.*"\n', "duration": "2h", "comment": "x"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/alerts"
    (silence,) = _silences(runtime)
    assert silence.matchers == ['alertname="DiskFull"', 'instance=~"db-.*"'] and silence.created_by == "rita"
    assert silence.ends_at == clock.now() + timedelta(hours=2)
    shown = rita.get("/alerts").text
    assert "Silence 1 added until" in shown and "instance=~&#34;db-.*&#34;" in shown
    assert rita.act(f"/alerts/silences/{silence.id}/expire").status_code == 303
    assert _silences(runtime) == []
    with runtime.db.session() as session:
        actions = [(e.action, e.actor, e.actor_kind) for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    assert ("silence.create", "rita", "person") in actions and ("silence.expire", "rita", "person") in actions


def test_a_bad_silence_is_a_422_page_naming_the_field(console_for, runtime):
    admin = console_for("admin")
    for data, field in (
        ({"matchers": "", "duration": "2h"}, "matchers"),
        ({"matchers": "alertname=X", "duration": "soon"}, "duration"),
        ({"matchers": "not a matcher!", "duration": "2h"}, "match"),
        ({"matchers": "alertname=~(", "duration": "2h"}, "match"),
    ):
        answer = admin.act("/alerts/silences", data)
        assert answer.status_code == 422, (data, answer.status_code)
        assert "text/html" in answer.headers["content-type"] and field in answer.text
    assert _silences(runtime) == []


def test_maintenance_windows_are_created_listed_and_cancelled(console_for, runtime):
    admin = console_for("admin")
    answer = admin.act(
        "/alerts/maintenance",
        {
            "service": "<b>db</b>",
            "starts_at": "2026-01-06T02:00",
            "duration": "2h",
            "weekly": "true",
            "comment": "patch",
        },
    )
    assert answer.status_code == 303
    html = admin.get("/alerts").text
    assert "&lt;b&gt;db&lt;/b&gt;" in html and "2026-01-06 02:00 UTC to 2026-01-06 04:00 UTC" in html
    assert "weekly" in html
    assert admin.act("/alerts/maintenance/1/cancel").status_code == 303
    with runtime.db.session() as session:
        assert maintenance.list_windows(session, now=runtime.clock.now()) == []
    assert admin.act("/alerts/maintenance/99/cancel").status_code == 404
    bad = admin.act("/alerts/maintenance", {"service": "db", "starts_at": "tomorrow", "duration": "1h"})
    assert bad.status_code == 422 and "starts_at" in bad.text


def test_actions_need_a_session_and_its_csrf_token(console_for, runtime):
    anonymous = console_for(None)
    assert anonymous.get("/alerts", follow_redirects=False).headers["location"].startswith("/login?next=")
    bogus = console_for(None)
    bogus.cookies.set("warroom_session", "forged")
    assert bogus.get("/alerts", follow_redirects=False).status_code == 303
    admin = console_for("admin")
    data = {"matchers": "alertname=X", "duration": "1h"}
    assert admin.post("/alerts/silences", data=data, follow_redirects=False).status_code == 403
    assert (
        admin.post("/alerts/silences", data={**data, "csrf_token": "f" * 64}, follow_redirects=False).status_code == 403
    )
    assert _silences(runtime) == []


def test_a_silenced_alert_is_listed_apart_with_what_holds_it_back(console_for, send, runtime):
    with runtime.db.transaction() as session:
        silences.create(
            session,
            matchers=["alertname=DiskFull"],
            created_by="t",
            now=runtime.clock.now(),
            duration=timedelta(hours=1),
        )
    send(am_alert("DiskFull", service="db"), am_alert("HighErrorRate"))
    html = console_for("viewer").get("/alerts").text
    assert "Firing (1)" in html and "Held back (1)" in html
    held = html.split("Held back (1)", 1)[1].split("</table>", 1)[0]
    assert "DiskFull on db" in held and "<td>silence:1</td>" in held
    groups = re.findall(r'<section class="panel alert-group".*?</section>', html, re.S)
    assert len(groups) == 1 and "DiskFull" not in groups[0]
