"""Schedules over the API and the CLI: who is on call, shifts, overrides, iCal import and feeds."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import icalendar
import pytest
from typer.testing import CliRunner

from tests.oncall.helpers import Webhook, oncall_config
from warroom.cli import app as cli
from warroom.config import ConfigFile

ROTA = {
    "id": "rota",
    "timezone": "Europe/Berlin",
    "layers": [
        {"rotation": {"participants": ["alice", "bob"], "shift": "1d", "handoff": "09:00", "start": "2026-03-01"}}
    ],
}

ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:cover@test
SUMMARY:Carol
DTSTART:20260107T000000Z
DTEND:20260108T000000Z
RRULE:FREQ=WEEKLY;COUNT=3
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def config(webhook: Webhook) -> ConfigFile:
    return oncall_config(webhook)


def test_who_and_shifts_follow_the_wall_clock_across_dst(api):
    assert api.post("/api/v1/schedules", json=ROTA).status_code == 201
    answer = api.get("/api/v1/schedules/rota/shifts", params={"from": "2026-03-28T00:00", "to": "2026-03-31T00:00"})
    assert answer.status_code == 200
    shifts = [(s["start"], s["user"]) for s in answer.json()["shifts"]]
    assert shifts == [
        ("2026-03-27T23:00:00Z", "alice"),  # the window starts at midnight in the schedule's zone
        ("2026-03-28T08:00:00Z", "bob"),
        ("2026-03-29T07:00:00Z", "alice"),  # 09:00 CEST
        ("2026-03-30T07:00:00Z", "bob"),
    ]
    (who,) = api.get("/api/v1/oncall", params={"schedule": "rota", "at": "2026-03-29T08:30+02:00"}).json()
    assert who["user"] == "bob" and who["end"] == "2026-03-29T07:00:00Z"


def test_an_override_covers_a_shift(api, client_for):
    api.post("/api/v1/schedules", json=ROTA)
    responder = client_for("responder")
    created = responder.post(
        "/api/v1/schedules/rota/overrides",
        json={"user": "carol", "start": "2026-03-29T12:00:00+02:00", "end": "2026-03-29T14:00:00+02:00"},
    )
    assert created.status_code == 201
    (who,) = api.get("/api/v1/oncall", params={"schedule": "rota", "at": "2026-03-29T13:00+02:00"}).json()
    assert (who["user"], who["source"]) == ("carol", "override")
    assert (
        client_for("viewer")
        .post(
            "/api/v1/schedules/rota/overrides",
            json={"user": "carol", "start": "2026-03-29T12:00:00Z", "end": "2026-03-29T14:00:00Z"},
        )
        .status_code
        == 403
    )
    bad = responder.post(
        "/api/v1/schedules/rota/overrides",
        json={"user": "carol", "start": "2026-03-29T14:00:00Z", "end": "2026-03-29T12:00:00Z"},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "end"
    assert responder.delete(f"/api/v1/schedules/rota/overrides/{created.json()['id']}").status_code == 200
    (who,) = api.get("/api/v1/oncall", params={"schedule": "rota", "at": "2026-03-29T13:00+02:00"}).json()
    assert who["user"] == "alice"


@pytest.fixture
def ics_server():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/calendar")
            self.end_headers()
            self.wfile.write(ICS.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/oncall.ics"
    server.shutdown()
    server.server_close()


def test_an_ical_url_is_imported_and_its_events_sit_above_the_rotation(api, ics_server, clock):
    api.post("/api/v1/schedules", json=ROTA)
    imported = api.put("/api/v1/schedules/rota/ical", json={"url": ics_server})
    assert imported.status_code == 200
    assert imported.json() == {"schedule": "rota", "events_next_30_days": 3, "unknown_calendar_names": []}
    (who,) = api.get("/api/v1/oncall", params={"schedule": "rota", "at": "2026-01-14T10:00Z"}).json()
    assert (who["user"], who["source"]) == ("carol", "ical")
    broken = api.put("/api/v1/schedules/rota/ical", json={"text": "hello"})
    assert broken.status_code == 422 and "iCalendar" in broken.json()["detail"]


def test_feeds_export_shifts_and_open_with_their_signed_link(api, client_for):
    api.post("/api/v1/schedules", json=ROTA)
    ics = api.get("/api/v1/schedules/rota/calendar.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(ics.text)
    summaries = [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")]
    assert set(summaries) == {"alice", "bob"} and len(summaries) >= 90
    feed = api.get("/api/v1/feeds/users/alice").json()["url"]
    path = feed.replace("http://127.0.0.1:8080", "")
    anonymous = client_for(None)
    alice = icalendar.Calendar.from_ical(anonymous.get(path).text)
    assert {str(e["SUMMARY"]) for e in alice.walk("VEVENT")} == {"alice"}
    assert anonymous.get(path.replace("/users/alice", "/users/bob")).status_code == 403
    assert anonymous.get("/api/v1/schedules/rota/calendar.ics").status_code == 401


def test_schedules_refuse_unknown_people_and_policies_unknown_targets(api):
    bad = dict(ROTA, layers=[{"rotation": {"participants": ["zed"]}}])
    answer = api.post("/api/v1/schedules", json=bad)
    assert (
        answer.status_code == 422 and answer.json()["detail"] == "Layer 1 of schedule 'rota' names unknown user 'zed'."
    )
    policy = api.post("/api/v1/policies", json={"id": "p", "levels": [{"notify": ["schedule:nope"]}]})
    assert policy.status_code == 422 and policy.json()["detail"] == "Level 1 names unknown schedule 'nope'."
    empty = api.post("/api/v1/policies", json={"id": "p", "levels": [{"notify": []}]})
    assert empty.status_code == 422
    used = api.delete("/api/v1/users/alice")
    assert used.status_code == 409 and "schedule primary" in used.json()["detail"]


def test_the_cli_drives_people_schedules_and_paging(live_server, make_token, monkeypatch, runtime, tmp_path):
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("admin", "ops"))
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    run("user", "add", "erin", "--name", "Erin", "--timezone", "Europe/Berlin", "--contact", "json://127.0.0.1:9/e")
    assert '"id": "erin"' in run("user", "show", "erin", "--json")
    who = run("oncall", "who", "--schedule", "primary", "--json")
    assert '"user": "alice"' in who
    run(
        "oncall",
        "override",
        "--schedule",
        "primary",
        "--user",
        "erin",
        "--from",
        "2026-01-05T08:00:00Z",
        "--to",
        "2026-01-05T10:00:00Z",
    )
    assert '"user": "erin"' in run("oncall", "who", "--schedule", "primary", "--json")
    assert "erin" in run("oncall", "shifts", "--schedule", "primary", "--from", "2026-01-05T00:00Z", "--to", "+1d")
    declared = runner.invoke(cli, ["incident", "declare", "-t", "Checkout down", "-s", "P1"])
    assert declared.exit_code == 0, declared.output
    # Level 1 (primary, covered by erin now) paged on declaring; escalating pages level 2, then the repeat.
    assert "paging is active, next level 1" in run("incident", "escalate", "1")
    pages = run("incident", "pages", "1", "--json")
    assert '"user": "erin"' in pages and '"user": "bob"' in pages
    exported = run("config", "export")
    assert "- id: erin" in exported and "schedule:primary" in exported
    failed = runner.invoke(cli, ["user", "show", "nobody"])
    assert failed.exit_code == 1 and "No user 'nobody'" in failed.output


def test_oncall_apply_sends_yaml_sections_over_the_api(live_server, make_token, monkeypatch, tmp_path, api):
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("admin", "ops"))
    path = tmp_path / "oncall.yaml"
    path.write_text(
        "users:\n  - {id: erin, contacts: ['json://127.0.0.1:9/erin']}\n"
        "teams:\n  - {id: web, members: [erin], policy: web}\n"
        "schedules:\n  - id: web\n    layers:\n      - rotation: {participants: [erin], shift: 1d, handoff: '09:00'}\n"
        "policies:\n  - id: web\n    levels:\n      - notify: [schedule:web, team:web]\n"
    )
    result = CliRunner().invoke(cli, ["oncall", "apply", str(path)])
    assert result.exit_code == 0, result.output
    assert api.get("/api/v1/teams/web").json()["policy"] == "web"
    assert api.get("/api/v1/oncall", params={"schedule": "web"}).json()[0]["user"] == "erin"


def test_oncall_apply_takes_yaml_dates_and_refuses_a_file_that_is_not_a_mapping(
    live_server, make_token, monkeypatch, tmp_path, api
):
    """A rotation `start: 2026-01-05` (YAML reads a date) is applied as written, not a traceback."""
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("admin", "ops"))
    path = tmp_path / "oncall.yaml"
    path.write_text(
        "users:\n  - {id: erin, contacts: ['json://127.0.0.1:9/erin']}\n"
        "schedules:\n  - id: web\n    layers:\n"
        "      - rotation: {participants: [erin], shift: 1d, handoff: '09:00', start: 2026-01-05}\n"
    )
    result = CliRunner().invoke(cli, ["oncall", "apply", str(path)])
    assert result.exit_code == 0, result.output
    rotation = api.get("/api/v1/schedules/web").json()["layers"][0]["rotation"]
    assert str(rotation["start"]).startswith("2026-01-05")
    path.write_text("- just a list\n")
    refused = CliRunner().invoke(cli, ["oncall", "apply", str(path)])
    assert refused.exit_code == 1
    assert "expected a mapping" in refused.output and "Traceback" not in refused.output
