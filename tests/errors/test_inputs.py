"""Hostile input gets a 4xx problem naming what is wrong, never a 500, on SQLite and PostgreSQL: numbers out of a
column's range, NUL characters, JSON nested deeper than the store can write, times and durations that overflow,
validation inside handlers, 405 with `Allow`."""

from __future__ import annotations

from typing import Any

import pytest

PROBLEM = "application/problem+json"


def _nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"x": value}
    return value


def _alert(annotations: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    alert = {"status": "firing", "labels": {"alertname": "DiskFull", "service": "db"}, "annotations": annotations or {}}
    alert.update(fields)
    return {"version": "4", "status": "firing", "receiver": "warroom", "alerts": [alert]}


@pytest.fixture
def intake_key(api) -> str:
    answer = api.post("/api/v1/integrations", json={"name": "prom", "type": "alertmanager"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["key"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/incidents/3000000000",
        "/api/v1/incidents/99999999999999999999",
        "/api/v1/incidents/99999999999999999999/notifications",
        "/api/v1/incidents/3000000000/runbook-runs",
        "/api/v1/incidents/1/runbook-runs/99999999999999999999",
        "/api/v1/alerts/3000000000",
        "/api/v1/alerts?incident=99999999999999999999",
        "/api/v1/silences/99999999999999999999",
    ],
)
def test_a_number_beyond_the_column_range_is_a_4xx(client_for, path):
    answer = client_for("viewer").get(path)
    assert answer.status_code in (404, 422), answer.text
    assert answer.headers["content-type"] == PROBLEM


def test_a_write_to_a_number_beyond_the_range_is_a_4xx(api):
    answer = api.post("/api/v1/incidents/3000000000/notes", json={"message": "hello"})
    assert answer.status_code in (404, 422)
    answer = api.post("/api/v1/maintenance/99999999999999999999/cancel")
    assert answer.status_code in (404, 422)


def test_nul_in_a_body_field_is_a_422_naming_it(api):
    answer = api.post("/api/v1/incidents", json={"title": "db\x00down", "severity": "P1"})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["errors"][0]["field"] == "title"
    answer = api.post("/api/v1/incidents", json={"title": "db down", "severity": "P1", "labels": {"team": "a\x00"}})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "labels.team"
    assert api.get("/api/v1/incidents").json()["items"] == []  # nothing was stored


def test_nul_in_a_query_parameter_or_the_path_is_a_422(api):
    answer = api.get("/api/v1/incidents?service=pay%00ments")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "service"
    answer = api.get("/api/v1/monitors/web%00site")
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM


def test_nul_in_an_alert_is_a_422_naming_the_field(sender_client, intake_key):
    answer = sender_client.post(f"/api/v1/intake/{intake_key}", json=_alert({"summary": "disk\x00full"}))
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "alerts.0.annotations.summary"
    assert intake_key not in answer.text


def test_an_alert_nested_deeper_than_the_store_writes_is_a_400(sender_client, intake_key, api):
    answer = sender_client.post(f"/api/v1/intake/{intake_key}", json=_alert({"detail": _nested(300)}))
    assert answer.status_code == 400
    assert answer.headers["content-type"] == PROBLEM
    assert "64 levels" in answer.json()["detail"]
    assert api.get("/api/v1/alerts").json()["items"] == []


def test_parse_and_store_agree_at_the_documented_depth(sender_client, intake_key, api):
    # 64 levels in all (the root object, `alerts`, the alert, `annotations`, then 60 more) are accepted and
    # stored; one more is refused before anything is written.
    deepest = _alert({"detail": _nested(60)})
    answer = sender_client.post(f"/api/v1/intake/{intake_key}", json=deepest)
    assert answer.status_code == 200, answer.text
    assert len(api.get("/api/v1/alerts").json()["items"]) == 1
    too_deep = _alert({"detail": _nested(61)})
    assert sender_client.post(f"/api/v1/intake/{intake_key}", json=too_deep).status_code == 400


def test_a_json_body_nested_too_deep_is_a_400_on_any_route(api):
    answer = api.post("/api/v1/incidents", json={"title": "x", "severity": "P1", "labels": _nested(100)})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("when", [1e20, -1e20, 99999999999999999999])
def test_a_numeric_time_that_overflows_is_a_4xx(sender_client, intake_key, when):
    answer = sender_client.post(f"/api/v1/intake/{intake_key}", json=_alert(startsAt=when))
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["errors"][0]["field"] == "alerts.0.startsAt"


@pytest.mark.parametrize("when", [1e20, "99999-01-01T00:00:00Z"])
def test_an_incident_time_that_overflows_is_a_422(api, when):
    answer = api.post("/api/v1/incidents", json={"title": "x", "severity": "P1", "started_at": when})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "started_at"


@pytest.mark.parametrize("duration", ["99999999999999w", "1e300", "9999999999999999999999"])
def test_a_duration_that_overflows_is_a_422(api, duration):
    answer = api.post(
        "/api/v1/silences",
        json={"matchers": ["service=db"], "duration": duration, "comment": "maintenance"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "duration"


def test_validation_inside_a_handler_is_a_422(api):
    assert api.post("/api/v1/users", json={"id": "alice"}).status_code == 201
    answer = api.post("/api/v1/users/alice/contacts", json={"url": "000"})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["errors"]


def test_a_method_not_allowed_names_every_allowed_method(api):
    answer = api.request("TRACE", "/api/v1/incidents")
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) >= {"GET", "POST"}
    answer = api.put("/api/v1/incidents/1")
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) >= {"GET", "PATCH"}


@pytest.fixture
def sender_client(client_for):
    """An alert sender: no API token, the integration key in the path."""
    return client_for(None)


def test_nul_in_a_form_field_is_a_422_naming_it(app):
    # The console's forms (login, declare, silence ...) reach the same text columns as the API's JSON: a NUL in a
    # form field reached PostgreSQL as a 500 before the guard read form bodies too.
    from starlette.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as browser:
        answer = browser.post("/login", data={"username": "ad\x00min", "password": "whatever"})
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == "username"
        answer = browser.post("/login", content=b"username=admin&password=a%00b",
                              headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["field"] == "password"
        assert "a\x00b" not in answer.text and "a%00b" not in answer.text  # a password is never echoed
        # A form without NUL still reaches the route (which answers its own way: a wrong login).
        answer = browser.post("/login", data={"username": "admin", "password": "wrong"})
        assert answer.status_code != 422 and answer.status_code < 500
