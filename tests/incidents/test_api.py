"""The incidents API as a client sees it: status codes, problem details, roles, audit."""

from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"


def declare(api, **overrides):
    body = {"title": "Checkout API 502s", "severity": "P1", "services": ["checkout"], "description": "5xx > 5%"}
    body.update(overrides)
    return api.post("/api/v1/incidents", json=body)


def test_declare_answers_201_with_location_and_the_incident(api):
    response = declare(api, labels={"env": "prod"})
    assert response.status_code == 201
    assert response.headers["location"] == "/api/v1/incidents/1"
    body = response.json()
    assert (body["number"], body["status"], body["severity"], body["services"]) == (1, "triggered", "P1", ["checkout"])
    assert body["created_by"] == "alice"
    assert body["labels"] == {"env": "prod"}
    assert [e["kind"] for e in body["timeline"]] == ["declared", "paging_skipped"]  # no policy: nobody paged
    assert {d["name"]: d["state"] for d in body["durations"]}["acknowledge"] == "running"


def test_the_seed_workflow_post_then_patch_to_resolve(api, clock):
    declare(api)
    clock.advance(minutes=2)
    assert api.post("/api/v1/incidents/1/acknowledge").json()["status"] == "acknowledged"
    clock.advance(minutes=3)
    patched = api.patch("/api/v1/incidents/1", json={"status": "identified", "message": "Bad deploy of v2.3.1"})
    assert patched.status_code == 200
    assert patched.json()["timeline"][-1]["message"] == "Bad deploy of v2.3.1"
    assert api.post("/api/v1/incidents/1/notes", json={"message": "Rolled back"}).status_code == 201
    resolved = api.patch("/api/v1/incidents/1", json={"status": "resolved", "message": "Error rate at baseline"})
    assert resolved.json()["status"] == "resolved"
    durations = {d["name"]: d for d in resolved.json()["durations"]}
    assert durations["acknowledge"]["seconds"] == 120
    assert durations["resolve"]["seconds"] == 300
    assert durations["resolve"]["state"] == "met"
    reopened = api.post("/api/v1/incidents/1/reopen", json={"message": "Errors are back"})
    assert reopened.json()["status"] == "investigating"


def test_list_filters_newest_first_with_cursor(api):
    for n in range(5):
        declare(api, severity="P0" if n == 4 else "P2", services=["search"] if n == 0 else ["checkout"])
    api.post("/api/v1/incidents/2/resolve")
    page = api.get("/api/v1/incidents", params={"status": "open", "limit": 2}).json()
    assert [i["number"] for i in page["items"]] == [5, 4]
    page2 = api.get("/api/v1/incidents", params={"status": "open", "limit": 2, "cursor": page["next_cursor"]})
    assert [i["number"] for i in page2.json()["items"]] == [3, 1]
    assert api.get("/api/v1/incidents", params={"severity": "P0,P1"}).json()["items"][0]["number"] == 5
    assert [i["number"] for i in api.get("/api/v1/incidents", params={"service": "search"}).json()["items"]] == [1]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x", "severity": "P9"}, "severity"),
        ({"title": "", "severity": "P1"}, "title"),
        ({"severity": "P1"}, "title"),
        ({"title": "x", "severity": "P1", "services": "checkout"}, "services"),
        ({"title": "x", "severity": "P1", "started_at": "yesterday"}, "started_at"),
        ({"title": "x", "severity": "P1", "started_at": "2026-01-05T09:00:00"}, "started_at"),
        ({"title": "x", "severity": "P1", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_422_problem_naming_the_field(api, body, field):
    response = api.post("/api/v1/incidents", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422
    assert field in [e["field"] for e in problem["errors"]]


def test_malformed_json_is_400(api):
    response = api.post("/api/v1/incidents", content=b'{"title": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["title"] == "Malformed JSON"


def test_body_over_one_mebibyte_is_413(api):
    big = {"title": "x", "severity": "P1", "description": "a" * (1024 * 1024 + 10)}
    response = api.post("/api/v1/incidents", json=big)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_body_over_the_limit_without_content_length_is_413(api):
    def chunks():
        yield b'{"title": "x", "severity": "P1", "description": "'
        for _ in range(300):
            yield b"a" * 4096
        yield b'"}'

    response = api.post("/api/v1/incidents", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_unknown_incident_is_404_and_illegal_transition_409(api):
    assert api.get("/api/v1/incidents/42").status_code == 404
    assert api.post("/api/v1/incidents/42/acknowledge").json()["detail"] == "No incident #42."
    declare(api)
    api.post("/api/v1/incidents/1/resolve")
    response = api.post("/api/v1/incidents/1/acknowledge")
    assert response.status_code == 409
    assert "reopen it first" in response.json()["detail"]
    response = api.patch("/api/v1/incidents/1", json={"status": "nonsense"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "status"


def test_bad_cursor_and_limit_are_422(api):
    assert api.get("/api/v1/incidents", params={"cursor": "%%%"}).status_code == 422
    assert api.get("/api/v1/incidents", params={"limit": 501}).status_code == 422


ROUTES = [
    ("GET", "/api/v1/incidents", None, "viewer"),
    ("GET", "/api/v1/incidents/1", None, "viewer"),
    ("GET", "/api/v1/severities", None, "viewer"),
    ("GET", "/api/v1/export/incidents", None, "viewer"),
    ("GET", "/api/v1/whoami", None, "viewer"),
    ("POST", "/api/v1/incidents", {"title": "t", "severity": "P2"}, "responder"),
    ("PATCH", "/api/v1/incidents/1", {"commander": "bob"}, "responder"),
    ("POST", "/api/v1/incidents/1/acknowledge", {}, "responder"),
    ("POST", "/api/v1/incidents/1/notes", {"message": "m"}, "responder"),
    ("POST", "/api/v1/incidents/1/resolve", {}, "responder"),
    ("POST", "/api/v1/incidents/1/reopen", {}, "responder"),
    ("GET", "/api/v1/tokens", None, "admin"),
    ("POST", "/api/v1/tokens", {"name": "ci", "role": "viewer"}, "admin"),
    ("DELETE", "/api/v1/tokens/ci", None, "admin"),
    ("GET", "/api/v1/audit", None, "admin"),
]
ROLES = ["viewer", "responder", "admin"]


@pytest.mark.parametrize(("method", "path", "body", "needed"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_every_route_checks_token_and_role(client_for, make_incident, method, path, body, needed):
    make_incident()
    anonymous = client_for(None)
    assert anonymous.request(method, path, json=body).status_code == 401
    bogus = client_for(None)
    bogus.headers["Authorization"] = "Bearer wr_0123456789ab_not-a-real-token"
    assert bogus.request(method, path, json=body).status_code == 401
    for role in ROLES:
        if path.startswith("/api/v1/tokens/") and role == "admin":
            client_for("admin").post("/api/v1/tokens", json={"name": "ci"})
        status = client_for(role).request(method, path, json=body).status_code
        if ROLES.index(role) < ROLES.index(needed):
            assert status == 403, role
        else:
            # Allowed through; a repeated action may then conflict (409) with the first role's.
            assert status < 400 or status == 409, (role, status)


def test_revoked_token_stops_working_and_audit_records_who_what_where(api, client_for):
    created = api.post("/api/v1/tokens", json={"name": "bob", "role": "responder"}).json()
    bob = client_for(None)
    bob.headers["Authorization"] = f"Bearer {created['token']}"
    assert declare(bob).status_code == 201
    assert api.delete("/api/v1/tokens/bob").json()["revoked_at"] is not None
    assert bob.get("/api/v1/incidents").status_code == 401
    audit = api.get("/api/v1/audit").json()
    assert [(e["actor"], e["action"], e["target"]) for e in audit[:3]] == [
        ("alice", "token.revoke", f"token:{created['id']}"),
        ("bob", "incident.declare", "incident:1"),
        ("alice", "token.create", f"token:{created['id']}"),
    ]
    assert audit[1]["remote_addr"] == "testclient"
    assert all("token" not in e["detail"] for e in audit)


def test_token_listing_never_shows_secrets(api):
    created = api.post("/api/v1/tokens", json={"name": "ci", "role": "viewer"}).json()
    listing = api.get("/api/v1/tokens").text
    assert created["token"] not in listing
    assert "token_hash" not in listing


def test_health_ready_metrics(api, client_for):
    anonymous = client_for(None)
    assert anonymous.get("/health").json() == {"status": "ok"}
    assert anonymous.get("/ready").json() == {"status": "ready"}
    declare(api)
    declare(api, severity="P0")
    api.post("/api/v1/incidents/2/resolve")
    api.get("/api/v1/incidents/999")
    text = anonymous.get("/metrics").text
    assert 'warroom_incidents{severity="P1",status="triggered"} 1.0' in text
    assert 'warroom_incidents{severity="P0",status="resolved"} 1.0' in text
    assert 'warroom_http_requests_total{method="GET",route="/api/v1/incidents/{number}",status="404"} 1.0' in text


def test_ready_is_503_when_the_database_is_gone(runtime, client_for):
    from warroom.db import Database

    anonymous = client_for(None)
    runtime.db.dispose()
    runtime.db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = anonymous.get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM


def test_openapi_and_docs_are_served(client_for):
    anonymous = client_for(None)
    spec = anonymous.get("/openapi.json").json()
    assert "/api/v1/incidents/{number}/acknowledge" in spec["paths"]
    assert anonymous.get("/docs").status_code == 200


def test_a_change_with_the_database_down_is_503_not_500(runtime, api):
    from warroom.db import Database

    declare(api)
    runtime.db.dispose()
    runtime.db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")  # refuses every connection
    response = api.post("/api/v1/incidents", json={"title": "x", "severity": "P1"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["detail"] == "The database is unavailable; retry later."
