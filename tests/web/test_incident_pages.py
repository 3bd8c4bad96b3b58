"""The incident list and an incident's page: what a responder sees, the actions, and who they are recorded as."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.alerts.conftest import am_alert, am_payload
from warroom.alerts import integrations
from warroom.auth.models import AuditEntry
from warroom.config import parse_config_text
from warroom.incidents import service as incidents
from warroom.incidents import timeline

pytestmark = pytest.mark.backend("sqlite", "postgresql")


@pytest.fixture
def config():
    # alice and bob are on-call users; the default policy pages alice (no engine runs: nothing is sent).
    return parse_config_text(
        """
users:
  - {id: alice, name: Alice, contacts: ["json://127.0.0.1:9/alice"]}
  - {id: bob, name: Bob, contacts: ["json://127.0.0.1:9/bob"]}
policies:
  - id: default
    levels:
      - {notify: [user:alice], escalate_after: 10m}
      - {notify: [user:bob]}
"""
    )


def _numbers(html: str, heading: str) -> list[int]:
    """Incident numbers listed in the table under `heading` on the list page."""
    part = html.split(f"<h2>{heading}", 1)[1].split("<h2", 1)[0]
    return [int(n) for n in dict.fromkeys(re.findall(r'href="/incidents/(\d+)"', part))]


def _events(runtime, number: int):
    with runtime.db.session() as session:
        return [(e.kind, e.actor, e.actor_kind, e.message) for e in timeline.events(session, number)]


def test_open_incidents_come_first_then_the_recently_resolved(console, make_incident, runtime):
    first = make_incident("P2", "Old and solved")
    make_incident("P1", "Checkout API 502s")
    make_incident("P3", "Slow search")
    with runtime.db.transaction() as session:
        incidents.resolve(session, incidents.get_for_update(session, first.id), console_actor(), runtime.clock.now())
    page = console.get("/incidents").text
    assert _numbers(page, "Open") == [3, 2]
    assert _numbers(page, "Recently resolved") == [1]


def console_actor():
    from warroom.auth.actor import Actor, Role

    return Actor(name="someone", role=Role.RESPONDER)


def test_the_list_filters_by_status_severity_service_and_mine(console_for, make_incident, runtime):
    alice = console_for("responder", "alice")
    make_incident("P3", "Minor", services=["search"])  # P3 does not page
    make_incident("P1", "Paged to alice", services=["checkout"])  # P1 pages the default policy: alice
    make_incident("P3", "Commanded by alice", commander="alice")
    make_incident("P3", "Someone else's", commander="bob")
    assert _numbers(alice.get("/incidents?severity=P1").text, "Open") == [2]
    assert _numbers(alice.get("/incidents?service=search").text, "Open") == [1]
    assert _numbers(alice.get("/incidents?mine=true").text, "Open") == [3, 2]
    bob = console_for("responder", "bob")
    assert _numbers(bob.get("/incidents?mine=true").text, "Open") == [4]
    assert _numbers(alice.get("/incidents?status=triggered&severity=P3").text, "Incidents: triggered") == [4, 3, 1]
    bad = alice.get("/incidents?severity=P9")
    assert bad.status_code == 422 and "Unknown severity" in bad.text and "text/html" in bad.headers["content-type"]


def test_declare_from_the_form_with_the_severity_table_at_hand(console_for, runtime):
    alice = console_for("responder", "alice")
    form = alice.get("/incidents").text
    assert "Declare an incident" in form and "Update every" in form and "15m" in form  # P1 acknowledges in 15 min
    answer = alice.act(
        "/incidents",
        {"title": "Checkout API 502s", "severity": "P1", "services": "checkout, payments", "commander": "alice"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/incidents/1"
    page = alice.get("/incidents/1").text
    assert "Checkout API 502s" in page and "checkout, payments" in page and "Declared incident #1." in page
    (declared, *_rest) = _events(runtime, 1)
    assert declared[:3] == ("declared", "alice", "person")
    with runtime.db.session() as session:
        entry = session.query(AuditEntry).filter_by(action="incident.declare").one()
    assert (entry.actor, entry.actor_kind) == ("alice", "person")


def test_a_viewer_sees_no_buttons_and_cannot_declare(console_for, make_incident):
    make_incident("P1")
    viewer = console_for("viewer")
    assert "Declare an incident" not in viewer.get("/incidents").text
    page = viewer.get("/incidents/1").text
    assert "Acknowledge" not in page and "acting on it needs the responder role" in page
    refused = viewer.act("/incidents", {"title": "x", "severity": "P1"})
    assert refused.status_code == 403 and "Not allowed" in refused.text


def test_the_page_shows_durations_paging_on_call_and_the_next_update(console_for, make_incident, runtime, clock):
    make_incident("P1", "Checkout API 502s")
    clock.advance(minutes=20)
    page = console_for("viewer").get("/incidents/1").text
    assert "Durations against P1 targets" in page
    row = r"acknowledge</th>\s*<td[^>]*>20m so far</td>\s*<td>15m</td>\s*<td[^>]*>missed \(5m over\)"
    assert re.search(row, page), page
    assert "Policy <strong>default</strong>" in page and "alice" in page  # paged
    assert "Next update due 2026-01-05 10:00 UTC" in page  # P1: every hour, from the declaration at 09:00
    clock.advance(minutes=45)
    assert (
        'class="late">Next update was due 2026-01-05 10:00 UTC' in console_for("viewer", "v2").get("/incidents/1").text
    )


def test_acknowledge_with_htmx_swaps_the_incident_and_records_the_person(console_for, make_incident, runtime):
    make_incident("P1")
    alice = console_for("responder", "alice")
    answer = alice.hx("/incidents/1/acknowledge")
    assert answer.status_code == 200 and 'id="incident"' in answer.text
    assert "Acknowledged: escalation stopped." in answer.text and "st-acknowledged" in answer.text
    assert ("acknowledged", "alice", "person") in [e[:3] for e in _events(runtime, 1)]
    with runtime.db.session() as session:
        entry = session.query(AuditEntry).filter_by(action="incident.acknowledge").one()
    assert (entry.actor, entry.actor_kind, entry.detail["via"]) == ("alice", "person", "console")


def test_a_status_update_starts_from_the_template_and_can_move_the_status(console_for, make_incident, runtime):
    make_incident("P1")
    alice = console_for("responder", "alice")
    page = alice.get("/incidents/1").text
    template = re.search(r'<textarea id="u-message"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert "Impact:" in template and "Next update: 2026-01-05 10:00 UTC (every 1 h for P1)" in template
    assert alice.act("/incidents/1/update", {"status": "identified", "message": "Bad deploy"}).status_code == 303
    assert alice.act("/incidents/1/update", {"status": "identified", "message": "Rolling back"}).status_code == 303
    kinds = [(k, m) for k, _a, _ak, m in _events(runtime, 1)]
    assert ("update", "Rolling back") in kinds
    with runtime.db.session() as session:
        assert incidents.get(session, 1).status == "identified"
    empty = alice.hx("/incidents/1/update", {"status": "identified", "message": "  "})
    assert empty.status_code == 422 and "needs a message" in empty.text
    assert empty.headers["HX-Retarget"] == "#flash"  # the error lands in the message area; the page stays


def test_severity_commander_note_resolve_and_reopen(console_for, make_incident, runtime):
    make_incident("P2")
    alice = console_for("responder", "alice")
    for path, data in [
        ("/incidents/1/severity", {"severity": "P0"}),
        ("/incidents/1/commander", {"commander": "bob"}),
        ("/incidents/1/note", {"message": "Rolled back"}),
        ("/incidents/1/resolve", {"message": "Error rate at baseline"}),
        ("/incidents/1/reopen", {}),
    ]:
        assert alice.act(path, data).status_code == 303, path
    kinds = [k for k, actor, kind, _m in _events(runtime, 1) if actor == "alice" and kind == "person"]
    # Resolving an unacknowledged incident acknowledges it first (it counts for time to acknowledge).
    assert kinds == [
        "severity_changed",
        "commander_changed",
        "note",
        "acknowledged",
        "paging_stopped",
        "resolved",
        "reopened",
    ]
    with runtime.db.session() as session:
        incident = incidents.get(session, 1)
        assert (incident.severity, incident.commander, incident.status) == ("P0", "bob", "investigating")


def test_escalate_now_pages_the_next_level(console_for, make_incident, runtime):
    make_incident("P1")
    answer = console_for("responder", "alice").hx("/incidents/1/escalate")
    assert answer.status_code == 200 and "Escalated: level 2 paged." in answer.text
    assert "bob" in answer.text


def test_a_refused_action_is_an_html_page_naming_why(console_for, make_incident):
    make_incident("P1")
    alice = console_for("responder", "alice")
    assert alice.act("/incidents/1/resolve").status_code == 303
    again = alice.act("/incidents/1/acknowledge")
    assert again.status_code == 409 and "text/html" in again.headers["content-type"]
    assert "Cannot do that now" in again.text
    missing = alice.get("/incidents/99")
    assert missing.status_code == 404 and "No incident #99." in missing.text and "Traceback" not in missing.text
    bad = alice.get("/incidents/abc")
    assert bad.status_code == 422 and "number" in bad.text


ACTIONS = [
    ("/incidents", {"title": "x", "severity": "P1"}),
    ("/incidents/1/acknowledge", {}),
    ("/incidents/1/update", {"message": "x"}),
    ("/incidents/1/severity", {"severity": "P0"}),
    ("/incidents/1/commander", {"commander": "mallory"}),
    ("/incidents/1/note", {"message": "x"}),
    ("/incidents/1/resolve", {}),
    ("/incidents/1/reopen", {}),
    ("/incidents/1/escalate", {}),
]


def test_a_viewer_gets_403_on_every_action_and_nothing_changes(console_for, make_incident, runtime):
    make_incident("P1")
    before = _events(runtime, 1)
    viewer = console_for("viewer")
    for path, data in ACTIONS:
        assert viewer.act(path, data).status_code == 403, path
        assert viewer.hx(path, data).status_code == 403, path
    assert _events(runtime, 1) == before


def test_every_action_without_the_csrf_token_is_refused(console_for, make_incident, runtime):
    make_incident("P1")
    before = _events(runtime, 1)
    admin = console_for("admin")
    for path, data in ACTIONS:
        assert admin.post(path, data=data, follow_redirects=False).status_code == 403, path
        forged = {**data, "csrf_token": "f" * 64}
        assert admin.post(path, data=forged, follow_redirects=False).status_code == 403, path
    assert _events(runtime, 1) == before


def test_an_alert_label_and_a_title_are_shown_as_text(console_for, app, runtime):
    with runtime.db.transaction() as session:
        _, key = integrations.create_integration(
            session, name="am", type="alertmanager", created_by="tests", now=runtime.clock.now()
        )
    hostile = "<script>alert(1)</script>"
    alert = am_alert("Injected", summary='<img src=x onerror="alert(2)">', team=hostile)
    sent = TestClient(app).post(f"/api/v1/intake/{key}", json=am_payload(alert))
    assert sent.status_code == 200, sent.text
    viewer = console_for("viewer")
    listing = viewer.get("/incidents").text
    page = viewer.get("/incidents/1").text
    assert "team=&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for html in (listing, page):
        assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in page


def test_each_action_is_audited_under_the_person_with_what_it_did(console_for, make_incident, runtime):
    make_incident("P1")
    alice = console_for("responder", "alice")
    said = []
    for path, data in [
        ("/incidents/1/acknowledge", {}),
        ("/incidents/1/update", {"status": "identified", "message": "Bad deploy"}),
        ("/incidents/1/severity", {"severity": "P0"}),
        ("/incidents/1/commander", {"commander": ""}),
        ("/incidents/1/note", {"message": "Rolled back"}),
        ("/incidents/1/escalate", {}),
        ("/incidents/1/resolve", {}),
        ("/incidents/1/reopen", {}),
    ]:
        answer = alice.act(path, data)
        assert (answer.status_code, answer.headers["location"]) == (303, "/incidents/1"), path
        said.append(alice.get("/incidents/1").text)
    for page, message in zip(
        said,
        [
            "Acknowledged: escalation stopped.",
            "Status update posted.",
            "Severity is P0.",
            "Commander is nobody.",
            "Note added.",
            "Escalated: level 2 paged.",
            "Resolved.",
            "Reopened.",
        ],
        strict=True,
    ):
        assert message in page
    with runtime.db.session() as session:
        entries = session.query(AuditEntry).filter(AuditEntry.target == "incident:1").order_by(AuditEntry.id).all()
    assert [(e.actor, e.actor_kind, e.action, e.detail) for e in entries] == [
        ("alice", "person", "incident.acknowledge", {"via": "console"}),
        ("alice", "person", "incident.update", {"status": "identified", "via": "console"}),
        ("alice", "person", "incident.update", {"severity": "P0", "via": "console"}),
        ("alice", "person", "incident.update", {"commander": "nobody", "via": "console"}),
        ("alice", "person", "incident.note", {"via": "console"}),
        ("alice", "person", "incident.escalate", {"level": 2, "via": "console"}),
        ("alice", "person", "incident.resolve", {"via": "console"}),
        ("alice", "person", "incident.reopen", {"via": "console"}),
    ]
