"""Logging in and out of the console: passwords, cookies, CSRF, revoked sessions, rate limits, what reaches logs."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import structlog

from tests.web.conftest import PASSWORD, ConsoleClient
from warroom import logs
from warroom.auth import accounts
from warroom.auth.models import AuditEntry
from warroom.config import Settings
from warroom.server import configure_logging

pytestmark = pytest.mark.backend("sqlite", "postgresql")


def _login_form(client, next_path: str | None = None) -> str:
    page = client.get("/login" + (f"?next={next_path}" if next_path else ""))
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _log_in(client, username: str, password: str, next_path: str = ""):
    token = _login_form(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
        follow_redirects=False,
    )


def test_root_sends_a_stranger_to_log_in_and_a_person_to_the_incidents(console_for):
    stranger = console_for(None)
    assert stranger.get("/", follow_redirects=False).headers["location"] == "/login"
    person = console_for("viewer")
    assert person.get("/", follow_redirects=False).headers["location"] == "/incidents"


def test_a_password_logs_in_with_a_session_cookie_that_scripts_and_other_sites_cannot_use(
    console_for, make_account, runtime
):
    make_account("alice", "responder", password=PASSWORD)
    client = console_for(None)
    answer = _log_in(client, "alice", PASSWORD, next_path="/incidents?status=open")
    assert answer.status_code == 303 and answer.headers["location"] == "/incidents?status=open"
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("warroom_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http to 127.0.0.1: a Secure cookie would never come back
    page = client.get("/incidents")
    assert page.status_code == 200 and "alice" in page.text
    with runtime.db.session() as session:
        entry = session.query(AuditEntry).filter_by(action="session.login").one()
    assert (entry.actor, entry.actor_kind) == ("alice", "person")


def test_over_https_the_cookie_is_secure_and_host_prefixed(make_account, app):
    make_account("alice", "responder", password=PASSWORD)
    with ConsoleClient(app, base_url="https://testserver") as client:
        answer = _log_in(client, "alice", PASSWORD)
        assert answer.status_code == 303, answer.text
        cookie = next(h for h in answer.headers.get_list("set-cookie") if "warroom_session=" in h)
        assert cookie.startswith("__Host-warroom_session=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Domain" not in cookie
        assert client.get("/incidents").status_code == 200


def test_behind_a_tls_proxy_the_public_url_makes_cookies_secure(console_for, app):
    # The proxy speaks plain http to us; WARROOM_PUBLIC_URL says people use https.
    app.state.runtime.settings.public_url = "https://warroom.example.org"
    answer = console_for(None).get("/login")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("__Host-warroom_login=") and "Secure" in cookie and "HttpOnly" in cookie


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(console_for, make_account):
    make_account("alice", "responder", password=PASSWORD)
    client = console_for(None)
    wrong = _log_in(client, "alice", "not the password at all")
    unknown = _log_in(client, "mallory", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password." in wrong.text and "Wrong username or password." in unknown.text
    assert "warroom_session" not in client.cookies


def test_the_next_page_after_login_is_never_another_site(console_for, make_account):
    make_account("alice", "responder", password=PASSWORD)
    for evil in ("//evil.example", "https://evil.example", "/\\evil.example"):
        client = console_for(None)
        answer = _log_in(client, "alice", PASSWORD, next_path=evil)
        assert answer.headers["location"] == "/incidents", evil


def test_login_without_the_forms_token_is_refused(console_for, make_account):
    make_account("alice", "responder", password=PASSWORD)
    client = console_for(None)
    answer = client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": "forged"}, follow_redirects=False
    )
    assert answer.status_code == 403 and "warroom_session" not in client.cookies


def test_login_is_rate_limited_per_account(console_for, make_account, clock):
    make_account("alice", "responder", password=PASSWORD)
    client = console_for(None)
    for _ in range(accounts.MAX_FAILURES_PER_ACCOUNT):
        assert _log_in(client, "alice", "wrong password!!").status_code == 401
    # Now even the right password is refused, with a page that says to wait.
    refused = _log_in(client, "alice", PASSWORD)
    assert refused.status_code == 429 and "Too many failed logins" in refused.text
    # Another account from the same address is not locked by alice's failures.
    make_account("bob", "responder", password=PASSWORD)
    assert _log_in(console_for(None), "bob", PASSWORD).status_code == 303
    clock.advance(accounts.ATTEMPT_WINDOW + timedelta(seconds=1))
    assert _log_in(client, "alice", PASSWORD).status_code == 303


def test_login_is_rate_limited_per_address(console_for, make_account):
    make_account("alice", "responder", password=PASSWORD)
    client = console_for(None)
    # A spray: one try per name, many names, one address.
    for n in range(accounts.MAX_FAILURES_PER_ADDRESS):
        assert _log_in(client, f"user{n}", "wrong password!!").status_code == 401
    assert _log_in(client, "alice", PASSWORD).status_code == 429


def test_logout_ends_the_session_on_the_server(console_for, runtime):
    client = console_for("responder")
    stolen = client.cookies["warroom_session"]
    answer = client.act("/logout")
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    # The cookie a thief copied earlier no longer works either.
    thief = console_for(None)
    thief.cookies.set("warroom_session", stolen)
    assert thief.get("/incidents", follow_redirects=False).headers["location"].startswith("/login")


def test_log_out_everywhere_ends_every_session_of_the_account(console_for):
    laptop = console_for("responder", "alice")
    phone = console_for("responder", "alice")
    other = console_for("responder", "bob")
    assert phone.get("/incidents").status_code == 200
    assert laptop.act("/logout-everywhere").status_code == 303
    assert phone.get("/incidents", follow_redirects=False).status_code == 303
    assert other.get("/incidents").status_code == 200


def test_a_revoked_session_is_out_on_its_next_request(console_for, runtime):
    client = console_for("admin", "alice")
    assert client.get("/incidents").status_code == 200
    with runtime.db.transaction() as session:
        accounts.disable(session, accounts.require(session, "alice"), now=runtime.clock.now())
    answer = client.get("/incidents", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fincidents"


def test_a_session_goes_idle(console_for, clock):
    client = console_for("viewer")
    clock.advance(hours=25)
    assert client.get("/incidents", follow_redirects=False).status_code == 303


def test_an_action_without_the_csrf_token_is_refused(console_for):
    client = console_for("responder")
    missing = client.post("/logout", follow_redirects=False)
    wrong = client.post("/logout", data={"csrf_token": "0" * 64}, follow_redirects=False)
    other_sessions = console_for("responder", "bob").csrf
    borrowed = client.post("/logout", data={"csrf_token": other_sessions}, follow_redirects=False)
    for answer in (missing, wrong, borrowed):
        assert answer.status_code == 403 and "text/html" in answer.headers["content-type"]
        assert "did not come from warroom" in answer.text
    assert client.get("/incidents").status_code == 200  # still logged in: nothing happened


def test_htmx_sends_the_token_in_a_header(console_for):
    client = console_for("responder")
    assert client.hx("/logout").status_code == 303


def test_an_invite_link_sets_a_password_once(console_for, runtime):
    with runtime.db.transaction() as session:
        account = accounts.create(
            session, username="carol", role=accounts.Role.RESPONDER, created_by="t", now=runtime.clock.now()
        )
        secret = accounts.invite(session, account, now=runtime.clock.now())
    client = console_for(None)
    form = client.get(f"/set-password?token={secret}")
    assert form.status_code == 200 and "carol" in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    data = {"token": secret, "password": PASSWORD, "password2": PASSWORD, "csrf_token": token}
    answer = client.post("/set-password", data=data, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/incidents"
    assert client.get("/incidents").status_code == 200
    again = console_for(None).get(f"/set-password?token={secret}", follow_redirects=False)
    assert again.status_code == 404 and "used, expired or wrong" in again.text  # spent; and no redirect carrying it
    assert secret not in again.text
    assert _log_in(console_for(None), "carol", PASSWORD).status_code == 303


@pytest.fixture
def debug_logging():
    """Call it to log as `warroom serve` does, at debug level (inside the test, where capsys captures)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield lambda: configure_logging(Settings(log_format="json", log_level="debug"))
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def _flushed_stderr(capsys) -> str:
    writer = getattr(logs, "_writer", None)
    if writer is not None:
        writer.flush()
    return capsys.readouterr().err


def test_passwords_and_session_ids_never_reach_the_log(console_for, make_account, debug_logging, capsys):
    make_account("alice", "responder", password=PASSWORD)
    debug_logging()
    client = console_for(None)
    _log_in(client, "alice", "a wrong secret value")
    _log_in(client, "alice", PASSWORD)
    session_id = client.cookies["warroom_session"]
    client.get("/incidents")
    client.post("/logout", data={"csrf_token": "x"})
    logged = _flushed_stderr(capsys)
    assert "login refused" in logged  # the failure is logged (the capture works) ...
    for secret in (PASSWORD, "a wrong secret value", session_id):
        assert secret not in logged  # ... without the secrets


def test_an_unexpected_error_on_a_console_page_is_a_clear_500_page(console_for, monkeypatch, debug_logging, capsys):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom with a secret wr_abc123def456_SECRETVALUE")

    monkeypatch.setattr("warroom.web.incidents.incident_list", broken)
    debug_logging()
    answer = console_for("viewer").get("/incidents")
    assert answer.status_code == 500 and "text/html" in answer.headers["content-type"]
    assert "Something went wrong" in answer.text
    assert "Traceback" not in answer.text and "boom" not in answer.text and "RuntimeError" not in answer.text
    logged = _flushed_stderr(capsys)
    assert "unhandled error" in logged and "SECRETVALUE" not in logged  # logged once, redacted


def test_the_api_keeps_problem_json(console_for):
    client = console_for("viewer")
    answer = client.get("/api/v1/incidents/99", headers={"Accept": "text/html"})
    assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"
    missing = client.get("/api/v1/no-such-route", headers={"Accept": "text/html"})
    assert missing.headers["content-type"] == "application/problem+json"


def test_the_account_page_lists_where_you_are_logged_in_and_your_on_call_user(console_for, runtime):
    laptop = console_for("responder", "alice")
    console_for("responder", "alice")  # a second browser
    page = laptop.get("/account").text
    assert page.count("(this one)") == 1 and page.count("<td>testclient</td>") == 2
    assert "No on-call user is named alice" in page
    from warroom.oncall import service as oncall
    from warroom.oncall.config_models import UserConfig

    with runtime.db.transaction() as session:
        oncall.put_user(session, UserConfig(id="alice", name="Alice"), now=runtime.clock.now())
    assert "Pages for on-call user <strong>alice</strong> go to you." in laptop.get("/account").text
