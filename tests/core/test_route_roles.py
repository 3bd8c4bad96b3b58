"""Every route of the app against every kind of caller: the minimum role of each is written out here, by hand.

The table is the promise (README: `viewer` reads, `responder` also changes incidents, `admin` does everything
including tokens and the audit log; missing or invalid token → 401, wrong role → 403). It is deliberately not
derived from the code: a route whose dependency says `Viewer` where it should say `Admin` must fail here. A route
added to the app without a row here fails `test_every_route_has_a_row`, naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from warroom.auth import service as auth_service
from warroom.auth.actor import Role

V, R, A = Role.VIEWER, Role.RESPONDER, Role.ADMIN
# Each role includes the ones before it (README). Written here, not read from `Role.level`, which is under test.
RANK = {V: 0, R: 1, A: 2}

# (method, path) → the least role that may call it. HEAD rows appear where the route answers HEAD itself.
PROTECTED: dict[tuple[str, str], Role] = {
    # alerts: integrations hold keys, so changing them is the admin's; sending a test alert is a responder's.
    ("POST", "/api/v1/integrations"): A,
    ("GET", "/api/v1/integrations"): V,
    ("GET", "/api/v1/integrations/{name}"): V,
    ("DELETE", "/api/v1/integrations/{name}"): A,
    ("POST", "/api/v1/integrations/{name}/rotate"): A,
    ("POST", "/api/v1/integrations/{name}/alerts"): R,
    ("GET", "/api/v1/alerts"): V,
    ("GET", "/api/v1/alerts/{alert_id}"): V,
    ("GET", "/api/v1/routes"): V,
    ("POST", "/api/v1/routes/test"): V,  # a dry run: it changes nothing
    ("POST", "/api/v1/silences"): R,
    ("GET", "/api/v1/silences"): V,
    ("GET", "/api/v1/silences/{silence_id}"): V,
    ("POST", "/api/v1/silences/{silence_id}/expire"): R,
    ("POST", "/api/v1/maintenance"): R,
    ("GET", "/api/v1/maintenance"): V,
    ("GET", "/api/v1/services/{name}/maintenance"): V,
    ("POST", "/api/v1/maintenance/{window_id}/cancel"): R,
    # auth: tokens and the audit log are the admin's alone.
    ("GET", "/api/v1/whoami"): V,
    ("POST", "/api/v1/tokens"): A,
    ("GET", "/api/v1/tokens"): A,
    ("DELETE", "/api/v1/tokens/{ref}"): A,
    ("GET", "/api/v1/audit"): A,
    # incidents
    ("POST", "/api/v1/incidents"): R,
    ("GET", "/api/v1/incidents"): V,
    ("GET", "/api/v1/incidents/{number}"): V,
    ("PATCH", "/api/v1/incidents/{number}"): R,
    ("POST", "/api/v1/incidents/{number}/acknowledge"): R,
    ("POST", "/api/v1/incidents/{number}/resolve"): R,
    ("POST", "/api/v1/incidents/{number}/reopen"): R,
    ("POST", "/api/v1/incidents/{number}/notes"): R,
    ("GET", "/api/v1/incidents/{number}/events/stream"): V,
    ("GET", "/api/v1/events/stream"): V,
    ("GET", "/api/v1/severities"): V,
    # reports
    ("GET", "/api/v1/export/incidents"): V,
    ("GET", "/api/v1/reports/retrospective"): V,
    ("GET", "/api/v1/reports/charts/{name}.svg"): V,
    ("GET", "/api/v1/reports/{section}"): V,
    # runbooks: running a step changes an incident, so it is a responder's.
    ("GET", "/api/v1/runbooks"): V,
    ("GET", "/api/v1/runbooks/stats"): V,
    ("GET", "/api/v1/runbooks/{runbook_id}"): V,
    ("GET", "/api/v1/incidents/{number}/runbooks"): V,
    ("GET", "/api/v1/incidents/{number}/runbook-runs"): V,
    ("POST", "/api/v1/incidents/{number}/runbook-runs"): R,
    ("GET", "/api/v1/incidents/{number}/runbook-runs/{run_id}"): V,
    ("POST", "/api/v1/incidents/{number}/runbook-runs/{run_id}/steps/{step_id}/run"): R,
    ("POST", "/api/v1/incidents/{number}/runbook-runs/{run_id}/steps/{step_id}/skip"): R,
    ("POST", "/api/v1/incidents/{number}/runbook-runs/{run_id}/steps/{step_id}/done"): R,
    ("POST", "/api/v1/incidents/{number}/runbook-runs/{run_id}/finish"): R,
    # monitors: defining one (and its heartbeat token) is configuration; pausing one is a responder's call.
    ("GET", "/api/v1/monitors"): V,
    ("POST", "/api/v1/monitors"): A,
    ("GET", "/api/v1/monitors/{name}"): V,
    ("PATCH", "/api/v1/monitors/{name}"): A,
    ("DELETE", "/api/v1/monitors/{name}"): A,
    ("POST", "/api/v1/monitors/{name}/pause"): R,
    ("POST", "/api/v1/monitors/{name}/resume"): R,
    ("POST", "/api/v1/monitors/{name}/run"): R,
    ("POST", "/api/v1/monitors/{name}/token"): A,
    # oncall: people, teams, schedules and policies are configuration (admin); an override is a responder's swap.
    ("GET", "/api/v1/users"): V,
    ("POST", "/api/v1/users"): A,
    ("GET", "/api/v1/users/{user_id}"): V,
    ("PUT", "/api/v1/users/{user_id}"): A,
    ("DELETE", "/api/v1/users/{user_id}"): A,
    ("POST", "/api/v1/users/{user_id}/contacts"): A,
    ("DELETE", "/api/v1/users/{user_id}/contacts/{label}"): A,
    ("GET", "/api/v1/users/{user_id}/shifts"): V,
    ("GET", "/api/v1/teams"): V,
    ("POST", "/api/v1/teams"): A,
    ("GET", "/api/v1/teams/{team_id}"): V,
    ("PUT", "/api/v1/teams/{team_id}"): A,
    ("DELETE", "/api/v1/teams/{team_id}"): A,
    ("GET", "/api/v1/schedules"): V,
    ("POST", "/api/v1/schedules"): A,
    ("GET", "/api/v1/schedules/{schedule_id}"): V,
    ("PUT", "/api/v1/schedules/{schedule_id}"): A,
    ("DELETE", "/api/v1/schedules/{schedule_id}"): A,
    ("PUT", "/api/v1/schedules/{schedule_id}/ical"): A,
    ("GET", "/api/v1/schedules/{schedule_id}/shifts"): V,
    ("GET", "/api/v1/oncall"): V,
    ("GET", "/api/v1/schedules/{schedule_id}/overrides"): V,
    ("POST", "/api/v1/schedules/{schedule_id}/overrides"): R,
    ("DELETE", "/api/v1/schedules/{schedule_id}/overrides/{override_id}"): R,
    ("GET", "/api/v1/schedules/{schedule_id}/calendar.ics"): V,
    ("GET", "/api/v1/users/{user_id}/calendar.ics"): V,
    ("GET", "/api/v1/feeds/{kind}/{ident}"): V,  # hands out the feed URL of a calendar
    ("POST", "/api/v1/feeds/{kind}/{ident}/rotate"): A,  # revokes everyone's subscribed URL (docs/oncall.md)
    ("GET", "/api/v1/policies"): V,
    ("POST", "/api/v1/policies"): A,
    ("GET", "/api/v1/policies/{policy_id}"): V,
    ("PUT", "/api/v1/policies/{policy_id}"): A,
    ("DELETE", "/api/v1/policies/{policy_id}"): A,
    ("POST", "/api/v1/incidents/{number}/escalate"): R,
    ("GET", "/api/v1/incidents/{number}/paging"): V,
    ("GET", "/api/v1/config/oncall"): A,  # shows contact targets, which may carry credentials
    # notify
    ("GET", "/api/v1/incidents/{number}/notifications"): V,
    ("POST", "/api/v1/users/{user_id}/test-notify"): R,
    # drills: starting one pages people (and injects alerts), so it is the admin's; the history is readable.
    ("POST", "/api/v1/drills/run"): A,
    ("POST", "/api/v1/drills/contacts"): A,
    ("GET", "/api/v1/drills"): V,
    ("GET", "/api/v1/drills/{drill_id}/report"): V,
    # postmortems: viewers read, responders draft, edit and move them, an admin reopens a published one.
    ("POST", "/api/v1/incidents/{number}/postmortem"): R,
    ("GET", "/api/v1/postmortems"): V,
    ("GET", "/api/v1/postmortems/{number}"): V,
    ("PUT", "/api/v1/postmortems/{number}"): R,
    ("POST", "/api/v1/postmortems/{number}/state"): R,
    ("POST", "/api/v1/postmortems/{number}/reopen"): A,
    ("GET", "/api/v1/postmortems/{number}/versions"): V,
    ("GET", "/api/v1/postmortems/{number}/versions/{version}"): V,
    ("GET", "/api/v1/postmortems/{number}/diff"): V,
    ("GET", "/api/v1/postmortems/{number}/export"): V,
    ("GET", "/api/v1/action-items"): V,
    ("POST", "/api/v1/action-items"): R,
    ("GET", "/api/v1/action-items/{item_id}"): V,
    ("PATCH", "/api/v1/action-items/{item_id}"): R,
    # status page: components are configuration (admin); overriding a status, publishing an incident, posting
    # a public update and announcing maintenance are a responder's acts during an incident.
    ("GET", "/api/v1/status/components"): V,
    ("POST", "/api/v1/status/components"): A,
    ("GET", "/api/v1/status/components/{name}"): V,
    ("PATCH", "/api/v1/status/components/{name}"): A,
    ("DELETE", "/api/v1/status/components/{name}"): A,
    ("POST", "/api/v1/status/components/{name}/override"): R,
    ("POST", "/api/v1/incidents/{number}/publish"): R,
    ("GET", "/api/v1/incidents/{number}/publication"): V,
    ("POST", "/api/v1/incidents/{number}/public-updates"): R,
    ("POST", "/api/v1/status/maintenance"): R,
    ("GET", "/api/v1/status/maintenance"): V,
    ("GET", "/api/v1/status/maintenance/{public_id}"): V,
    ("POST", "/api/v1/status/maintenance/{public_id}/cancel"): R,
    # status page subscribers: addresses are personal data and webhooks are configuration, so the admin's.
    ("GET", "/api/v1/status/subscribers"): A,
    ("POST", "/api/v1/status/subscribers"): A,
    ("DELETE", "/api/v1/status/subscribers/{subscriber_id}"): A,
}

# Routes that take no bearer token, each with the reason it may not: they carry their own credential or reveal
# nothing. `test_public_routes_refuse_a_forged_credential` checks the ones with a credential.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/health"): "liveness probe for load balancers: says only that the process runs",
    ("GET", "/ready"): "readiness probe for load balancers: says only whether the database answers",
    ("GET", "/metrics"): "Prometheus scrapes it without a token (README: GET /metrics)",
    ("GET", "/openapi.json"): "the API's description (README: OpenAPI at /openapi.json)",
    ("HEAD", "/openapi.json"): "the API's description",
    ("GET", "/docs"): "interactive docs (README); every call made from them still needs a token",
    ("HEAD", "/docs"): "interactive docs",
    ("GET", "/docs/oauth2-redirect"): "part of the interactive docs",
    ("HEAD", "/docs/oauth2-redirect"): "part of the interactive docs",
    ("GET", "/docs/assets/{name}"): "Swagger UI's own files, shipped in the package so /docs works offline",
    ("HEAD", "/docs/assets/{name}"): "Swagger UI's own files",
    ("POST", "/api/v1/intake/{key}"): "senders authenticate with the integration key in the path",
    ("POST", "/api/v1/intake"): "senders authenticate with the integration key as the bearer token",
    ("POST", "/v2/enqueue"): "PagerDuty Events v2: the integration key is the body's routing_key",
    ("HEAD", "/api/v1/heartbeats/{token}"): "heartbeat monitors: the monitor's secret token is the credential",
    ("GET", "/api/v1/heartbeats/{token}"): "heartbeat monitors: the monitor's secret token is the credential",
    ("POST", "/api/v1/heartbeats/{token}"): "heartbeat monitors: the monitor's secret token is the credential",
    ("GET", "/ical/{kind}/{ident}.ics"): "calendar apps cannot send headers: the feed URL is signed",
    ("GET", "/l/{token}"): "one-click links in pages: the link is signed, a GET only confirms",
    ("POST", "/l/{token}"): "one-click links in pages: the signed link is the credential",
    # The public status page (issue 16): what a company shows the world, built from a snapshot that holds no
    # internal detail (tests/statuspage/test_public.py checks no internal text reaches any of these).
    ("GET", "/status"): "the public status page: made for anyone, shows only published incidents",
    ("GET", "/status/status.css"): "the public status page's stylesheet",
    ("GET", "/status/history"): "the public status page's history of published incidents",
    ("GET", "/status/incidents/{public_id}"): "one published incident's public updates",
    ("GET", "/status/history.atom"): "feed readers cannot send tokens: the published history as Atom",
    ("GET", "/status/history.rss"): "feed readers cannot send tokens: the published history as RSS",
    ("GET", "/status/{rest:path}"): "any other address under /status: a plain 404 page",
    ("GET", "/status/badge/{component_id}.json"): "shields.io fetches badges without a token: a component's status",
    ("GET", "/api/v2/summary.json"): "Statuspage v2 public API, read by widgets and tools without a token",
    ("GET", "/api/v2/status.json"): "Statuspage v2 public API: the overall indicator",
    ("GET", "/api/v2/components.json"): "Statuspage v2 public API: public components",
    ("GET", "/api/v2/incidents.json"): "Statuspage v2 public API: published incidents",
    ("GET", "/api/v2/incidents/unresolved.json"): "Statuspage v2 public API: published unresolved incidents",
    ("GET", "/api/v2/scheduled-maintenances.json"): "Statuspage v2 public API: announced maintenance",
    ("GET", "/api/v2/scheduled-maintenances/upcoming.json"): "Statuspage v2 public API: announced maintenance",
    ("GET", "/api/v2/scheduled-maintenances/active.json"): "Statuspage v2 public API: maintenance in progress",
    ("GET", "/status/subscribe"): "the public status page's subscribe form: shows no subscriber",
    ("POST", "/status/subscribe"): "anyone may ask to subscribe: double opt-in, rate-limited, the same answer always",
    ("GET", "/status/confirm/{token}"): "confirm link: the random token is the credential; a GET only asks",
    ("POST", "/status/confirm/{token}"): "subscribers' confirm link: the random token is the credential",
    ("GET", "/status/unsubscribe/{token}"): "unsubscribe link: the random token is the credential; a GET only asks",
    ("POST", "/status/unsubscribe/{token}"): "RFC 8058 one-click unsubscribe: the random token is the credential",
}


# The web console's routes take no bearer token either: a logged-in browser's session cookie is their credential,
# and each action also needs the session's CSRF token. The least role of each (None: open to anyone, like the
# login form) is written here by hand; `test_console_routes_by_role` checks it with real sessions.
CONSOLE: dict[tuple[str, str], Role | None] = {
    ("GET", "/"): None,  # redirects to the incidents or to the login form
    ("GET", "/login"): None,
    ("POST", "/login"): None,  # the login form's own CSRF token (a cookie) is checked
    ("GET", "/set-password"): None,  # the invite's one-time secret is the credential
    ("POST", "/set-password"): None,
    ("POST", "/logout"): V,
    ("POST", "/logout-everywhere"): V,
    ("GET", "/account"): V,
    ("GET", "/incidents"): V,
    ("POST", "/incidents"): R,
    ("GET", "/incidents/{number}"): V,
    ("POST", "/incidents/{number}/acknowledge"): R,
    ("POST", "/incidents/{number}/update"): R,
    ("POST", "/incidents/{number}/severity"): R,
    ("POST", "/incidents/{number}/commander"): R,
    ("POST", "/incidents/{number}/note"): R,
    ("POST", "/incidents/{number}/resolve"): R,
    ("POST", "/incidents/{number}/reopen"): R,
    ("POST", "/incidents/{number}/escalate"): R,
    ("GET", "/incidents/{number}/live"): V,  # the live timeline (SSE); here only its refusals and 404 are reached
    ("GET", "/incidents/live"): V,  # the live incident list (SSE): CONSOLE_STREAMS, checked on a real server
    ("GET", "/incidents/{number}/runbook"): V,
    ("POST", "/incidents/{number}/runbook/start"): R,
    ("POST", "/incidents/{number}/runbook/{run_id}/steps/{step_id}/run"): R,
    ("POST", "/incidents/{number}/runbook/{run_id}/steps/{step_id}/done"): R,
    ("POST", "/incidents/{number}/runbook/{run_id}/steps/{step_id}/skip"): R,
    ("POST", "/incidents/{number}/runbook/{run_id}/finish"): R,
    ("GET", "/runbooks"): V,
    ("GET", "/runbooks/{name}"): V,
    ("GET", "/login/oidc"): None,  # single sign-on: off to the provider (404 page when not configured)
    ("GET", "/login/oidc/callback"): None,  # back from it: the state cookie and the provider's ID token
    ("GET", "/admin"): A,
    ("GET", "/admin/users"): A,
    ("POST", "/admin/users/invite"): A,
    ("POST", "/admin/users/{username}/role"): A,
    ("POST", "/admin/users/{username}/disable"): A,
    ("POST", "/admin/users/{username}/enable"): A,
    ("POST", "/admin/users/{username}/logout-everywhere"): A,
    ("GET", "/admin/tokens"): A,
    ("POST", "/admin/tokens"): A,
    ("POST", "/admin/tokens/{token_id}/revoke"): A,
    ("GET", "/admin/integrations"): A,
    ("POST", "/admin/integrations"): A,
    ("POST", "/admin/integrations/{name}/rotate"): A,
    ("POST", "/admin/integrations/{name}/revoke"): A,
    ("GET", "/alerts"): V,
    ("POST", "/alerts/silences"): R,
    ("POST", "/alerts/silences/{silence_id}/expire"): R,
    ("POST", "/alerts/maintenance"): R,
    ("POST", "/alerts/maintenance/{window_id}/cancel"): R,
    ("GET", "/oncall"): V,
    ("POST", "/oncall/overrides"): R,
    ("POST", "/oncall/test"): R,
    ("GET", "/oncall/test"): V,
    ("POST", "/oncall/schedules/{schedule_id}/overrides/{override_id}/remove"): R,
    ("GET", "/monitors"): V,
    ("POST", "/monitors/{name}/pause"): R,
    ("POST", "/monitors/{name}/resume"): R,
    ("POST", "/monitors/{name}/run"): R,
}
PUBLIC.update({route: "console: a session cookie, not a bearer token (CONSOLE below)" for route in CONSOLE})


def app_routes(app: Any) -> Iterator[tuple[str, str]]:
    """(method, path) of every route the app answers, routers included at any depth."""

    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            # FastAPI keeps an included router as one entry that expands to its routes with their prefix.
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:
                yield from contexts()
            elif hasattr(route, "routes"):  # a plain Starlette Mount of a router
                yield from walk(route.routes)
            else:
                yield route

    for route in walk(list(app.routes)):
        for method in getattr(route, "methods", None) or ():
            yield method, route.path


def concrete(path: str) -> str:
    """`path` with each {param} filled with a value every route accepts the shape of."""
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.backend("sqlite")  # the route table does not depend on the database
def test_every_route_has_a_row(app):
    routes = set(app_routes(app))
    # The walk must see at least what the OpenAPI document lists, else the matrix would be silently short.
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert documented <= routes, f"route walk missed {sorted(documented - routes)}"
    missing = sorted(routes - PROTECTED.keys() - PUBLIC.keys())
    assert not missing, f"routes with no expected role in tests/core/test_route_roles.py: {missing}"
    stale = sorted((PROTECTED.keys() | PUBLIC.keys()) - routes)
    assert not stale, f"rows for routes the app no longer has: {stale}"
    assert not PROTECTED.keys() & PUBLIC.keys()


@pytest.fixture
def callers(runtime, make_token) -> dict[str, dict[str, str]]:
    """Headers of each kind of caller: no token, three kinds of bad token, and each role."""
    admin = make_token("admin", "matrix-admin")
    revoked = make_token("admin", "matrix-revoked")
    with runtime.db.transaction() as session:
        auth_service.revoke_token(session, auth_service.get_token(session, "matrix-revoked"), now=runtime.clock.now())
    # The forged token has a real token's lookup part, so only the secret check can refuse it.
    forged = admin[:-6] + ("AAAAAA" if not admin.endswith("AAAAAA") else "BBBBBB")
    headers = {
        "no token": {},
        "malformed token": {"Authorization": "Bearer not-a-warroom-token"},
        "forged token": {"Authorization": f"Bearer {forged}"},
        "revoked token": {"Authorization": f"Bearer {revoked}"},
    }
    for role in Role:
        headers[role.value] = {"Authorization": f"Bearer {make_token(role.value, f'matrix-as-{role.value}')}"}
    return headers


# Routes that answer a caller they let in with an endless text/event-stream: TestClient waits for the end of a
# response, so these rows are checked against a real server instead (test_streams_admit_whom_the_table_says).
STREAMS = {("GET", "/api/v1/incidents/{number}/events/stream"), ("GET", "/api/v1/events/stream")}
ROWS = sorted((route, least) for route, least in PROTECTED.items() if route not in STREAMS)


@pytest.mark.backend("sqlite")  # who may call what is decided before a route touches its domain's tables
@pytest.mark.parametrize(("route", "least"), ROWS, ids=[f"{m} {p}" for (m, p), _ in ROWS])
def test_each_role_gets_what_the_table_says(app, callers: dict[str, dict[str, str]], route, least: Role):
    method, path = route
    url = concrete(path)
    with TestClient(app, raise_server_exceptions=False) as client:

        def call(caller: str) -> int:
            return client.request(method, url, headers=callers[caller]).status_code

        for caller in ("no token", "malformed token", "forged token", "revoked token"):
            status = call(caller)
            assert status == 401, f"{method} {path} with {caller}: {status}, expected 401"
        for role in Role:
            status = call(role.value)
            if RANK[role] < RANK[least]:
                assert status == 403, f"{method} {path} as {role.value}: {status}, expected 403 (needs {least.value})"
            else:
                assert status not in (401, 403), f"{method} {path} as {role.value}: {status}, expected to be let in"
                assert status < 500, f"{method} {path} as {role.value}: {status}"


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("route", sorted(STREAMS), ids=[f"{m} {p}" for m, p in sorted(STREAMS)])
def test_streams_admit_whom_the_table_says(live_server, callers: dict[str, dict[str, str]], route):
    method, path = route
    least = PROTECTED[route]

    def call(caller: str) -> int:
        with httpx.stream(method, live_server.url + concrete(path), headers=callers[caller], timeout=10) as response:
            return response.status_code  # the headers only: leaving closes the stream

    for caller in ("no token", "malformed token", "forged token", "revoked token"):
        assert call(caller) == 401, f"{method} {path} with {caller}: expected 401"
    for role in Role:
        status = call(role.value)
        if RANK[role] < RANK[least]:
            assert status == 403, f"{method} {path} as {role.value}: {status}, expected 403 (needs {least.value})"
        else:
            assert status not in (401, 403), f"{method} {path} as {role.value}: {status}, expected to be let in"
            assert status < 500, f"{method} {path} as {role.value}: {status}"


# A forged credential on each public route with one, and the answer the sender sees.
FORGED: list[tuple[str, str, dict[str, Any], int]] = [
    ("POST", "/api/v1/intake/wr_in_0000000000000000_forged", {"json": {}}, 401),
    ("POST", "/api/v1/intake", {"json": {}, "headers": {"Authorization": "Bearer wr_in_forged"}}, 401),
    # PagerDuty's own answer for a bad routing key (senders built for PagerDuty read it).
    ("POST", "/v2/enqueue", {"json": {"routing_key": "forged", "event_action": "trigger", "payload": {}}}, 400),
    ("GET", "/api/v1/heartbeats/forged-token", {}, 404),
    ("POST", "/api/v1/heartbeats/forged-token", {}, 404),
    ("GET", "/ical/user/alice.ics?token=forged", {}, 403),
    ("GET", "/l/forged.link", {}, 403),
    ("POST", "/l/forged.link", {}, 403),
    ("GET", "/status/confirm/forged-token-forged-token-forged", {}, 404),
    ("POST", "/status/confirm/forged-token-forged-token-forged", {}, 404),
    ("GET", "/status/unsubscribe/forged-token-forged-token-forged", {}, 404),
    ("POST", "/status/unsubscribe/forged-token-forged-token-forged", {}, 404),
]


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize(("method", "url", "kwargs", "expected"), FORGED, ids=[f"{m} {u}" for m, u, _, _ in FORGED])
def test_public_routes_refuse_a_forged_credential(app, method: str, url: str, kwargs: dict[str, Any], expected: int):
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.request(method, url, **kwargs)
    assert response.status_code == expected, f"{method} {url}: {response.status_code} {response.text[:200]}"


@pytest.mark.backend("sqlite")
def test_public_routes_answer_without_a_token(client_for: Callable[..., TestClient]):
    anonymous = client_for(None)
    for path in ("/health", "/ready", "/metrics", "/openapi.json", "/docs"):
        assert anonymous.get(path).status_code == 200, path


def _console_session(runtime, username: str, role: Role) -> tuple[str, str]:
    """A live console session of a person with `role`: (session id for the cookie, its CSRF token)."""
    from warroom.auth import accounts
    from warroom.auth import sessions as browser_sessions

    with runtime.db.transaction() as session:
        account = accounts.create(session, username=username, role=role, created_by="tests", now=runtime.clock.now())
        _row, secret = browser_sessions.start(session, account, now=runtime.clock.now())
    return secret, browser_sessions.csrf_token(secret)


# Console routes that answer an admitted person with an endless stream (TestClient would wait for its end).
CONSOLE_STREAMS = {("GET", "/incidents/live")}
CONSOLE_ROWS = sorted(
    (route, least) for route, least in CONSOLE.items() if least is not None and route not in CONSOLE_STREAMS
)


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize(("route", "least"), CONSOLE_ROWS, ids=[f"{m} {p}" for (m, p), _ in CONSOLE_ROWS])
def test_console_routes_by_role(app, runtime, route, least: Role):
    method, path = route
    url = concrete(path)
    sessions = {role: _console_session(runtime, f"matrix-{role.value}", role) for role in Role}
    with TestClient(app, raise_server_exceptions=False) as client:
        for label, cookie in (("no session", None), ("forged session", "forged-session-id")):
            client.cookies.clear()
            if cookie:
                client.cookies.set("warroom_session", cookie)
            answer = client.request(method, url, follow_redirects=False)
            assert answer.status_code == 303, f"{method} {path} with {label}: {answer.status_code}"
            assert answer.headers["location"].startswith("/login"), f"{method} {path} with {label}"
        for role in Role:
            secret, csrf = sessions[role]
            client.cookies.clear()
            client.cookies.set("warroom_session", secret)
            answer = client.request(method, url, headers={"X-CSRF-Token": csrf}, follow_redirects=False)
            if RANK[role] < RANK[least]:
                assert answer.status_code == 403, f"{method} {path} as {role.value}: {answer.status_code}"
                assert "text/html" in answer.headers["content-type"]
            else:
                assert answer.status_code not in (401, 403), f"{method} {path} as {role.value}: {answer.status_code}"
                assert answer.status_code < 500, f"{method} {path} as {role.value}: {answer.status_code}"


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("route", sorted(CONSOLE_STREAMS), ids=[f"{m} {p}" for m, p in sorted(CONSOLE_STREAMS)])
def test_console_streams_admit_whom_the_table_says(live_server, runtime, route):
    method, path = route
    least = CONSOLE[route]
    assert least is not None

    def call(cookie: str | None) -> httpx.Response:
        headers = {"Cookie": f"warroom_session={cookie}"} if cookie else {}
        with httpx.stream(method, live_server.url + concrete(path), headers=headers, timeout=10) as response:
            return response  # the headers only: leaving closes the stream

    for label, cookie in (("no session", None), ("forged session", "forged-session-id")):
        answer = call(cookie)
        assert answer.status_code == 303, f"{method} {path} with {label}: {answer.status_code}"
        assert answer.headers["location"].startswith("/login")
    for role in Role:
        secret, _csrf = _console_session(runtime, f"stream-{role.value}", role)
        answer = call(secret)
        if RANK[role] < RANK[least]:
            assert answer.status_code == 403, f"{method} {path} as {role.value}"
        else:
            assert answer.status_code == 200, f"{method} {path} as {role.value}: {answer.status_code}"
            assert answer.headers["content-type"].startswith("text/event-stream")
