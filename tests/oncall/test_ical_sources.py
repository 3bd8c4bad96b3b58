"""Where a schedule's calendar may come from over the API: http(s) URLs, and local files only when warroom.yaml
lists them under `calendar_files`. No error ever quotes what was read (a file of the server, an answer)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.oncall.helpers import Webhook, oncall_config
from tests.oncall.test_schedules_api import ICS, ROTA
from warroom.config import ConfigFile

SECRET = "s3cr3t-do-not-echo-4f9a"


@pytest.fixture
def calendars(tmp_path: Path) -> Path:
    """The one folder warroom.yaml allows calendars to be read from, with a good calendar in it."""
    folder = tmp_path / "calendars"
    folder.mkdir()
    (folder / "cover.ics").write_text(ICS)
    return folder


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A file of the server that is not a calendar and holds a secret, outside the allowed folder."""
    path = tmp_path / "admin-token"
    path.write_text(f"TOKEN={SECRET}\n")
    return path


@pytest.fixture
def config(webhook: Webhook, calendars: Path) -> ConfigFile:
    data = oncall_config(webhook).model_dump(exclude_unset=True)
    return ConfigFile.model_validate({**data, "calendar_files": [str(calendars)]})


@pytest.fixture
def schedule(api: Any) -> str:
    assert api.post("/api/v1/schedules", json=ROTA).status_code == 201
    return "/api/v1/schedules/rota/ical"


@pytest.fixture
def answering() -> Iterator[Any]:
    """A local HTTP server answering whatever text (and status) the test sets."""
    state: dict[str, Any] = {"status": 200, "body": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(state["status"])
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(state["body"].encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def _refused(answer: Any, field: str) -> str:
    assert answer.status_code == 422, answer.text
    assert SECRET not in answer.text
    assert answer.json()["errors"][0]["field"] == field
    return str(answer.json()["detail"])


def test_the_server_environment_is_not_a_calendar_source(api, schedule, monkeypatch):
    monkeypatch.setenv("WARROOM_SOME_SECRET", SECRET)
    for source in ("/proc/self/environ", "file:/proc/self/environ", "file:///proc/self/environ"):
        detail = _refused(api.put(schedule, json={"url": source}), "url")
        assert "calendar_files" in detail and "http(s)" in detail
        created = api.post("/api/v1/schedules", json={**ROTA, "id": "other", "ical": source})
        _refused(created, "ical")


def test_a_file_outside_calendar_files_is_refused_without_its_content(api, schedule, secret_file):
    for source in (str(secret_file), f"file:{secret_file}"):
        _refused(api.put(schedule, json={"url": source}), "url")


def test_a_link_inside_the_allowed_folder_to_a_file_outside_is_refused(api, schedule, calendars, secret_file):
    (calendars / "innocent.ics").symlink_to(secret_file)
    _refused(api.put(schedule, json={"url": f"file:{calendars / 'innocent.ics'}"}), "url")


def test_an_allowed_file_that_is_not_a_calendar_is_refused_without_its_content(api, schedule, calendars):
    (calendars / "notes.ics").write_text(f"password: {SECRET}\n")
    detail = _refused(api.put(schedule, json={"url": f"file:{calendars / 'notes.ics'}"}), "ical")
    assert "not an iCalendar file" in detail


def test_an_allowed_file_is_imported(api, schedule, calendars):
    imported = api.put(schedule, json={"url": f"file:{calendars / 'cover.ics'}"})
    assert imported.status_code == 200, imported.text
    assert imported.json()["events_next_30_days"] == 3


def test_an_answer_that_is_not_a_calendar_is_not_echoed(api, schedule, answering):
    answering["body"] = f"root:{SECRET}:19000:0:99999:7:::\n"
    _refused(api.put(schedule, json={"url": answering["url"] + "/internal"}), "ical")


def test_a_failed_fetch_does_not_echo_the_url_query(api, schedule, answering):
    answering["status"] = 404
    detail = _refused(api.put(schedule, json={"url": answering["url"] + f"/cal.ics?token={SECRET}"}), "url")
    assert "HTTP 404" in detail and "/cal.ics" in detail


def test_other_schemes_are_refused(api, schedule):
    for source in ("ftp://127.0.0.1/cal.ics", "gopher://127.0.0.1/x"):
        _refused(api.put(schedule, json={"url": source}), "url")


def test_viewers_do_not_see_a_calendar_url_s_secret_parts(api, client_for, answering):
    # Private calendar addresses carry their secret in the path or the query.
    answering["body"] = ICS
    url = answering["url"] + f"/calendar/private-{SECRET}/basic.ics?key={SECRET}"
    assert api.post("/api/v1/schedules", json={**ROTA, "id": "private", "ical": url}).status_code == 201
    for role in ("viewer", "responder"):
        reader = client_for(role)
        for answer in (reader.get("/api/v1/schedules"), reader.get("/api/v1/schedules/private")):
            assert answer.status_code == 200 and SECRET not in answer.text, role
        assert reader.get("/api/v1/schedules/private").json()["ical"] == answering["url"] + "/…"
    assert api.get("/api/v1/schedules/private").json()["ical"] == url
