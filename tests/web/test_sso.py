"""Single sign-on through a real local OpenID Connect provider: the whole flow, and every refusal with its message."""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import structlog
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.testclient import TestClient

from tests.web.oidc_peer import SECRET_ENV, OidcPeer, oidc_provider, oidc_yaml
from tests.web.test_sessions import _flushed_stderr
from warroom.auth import accounts, oidc
from warroom.auth.models import AuditEntry
from warroom.auth.oidc_config import OidcConfig
from warroom.config import Settings, parse_config_text
from warroom.secretpaths import redact
from warroom.server import configure_logging

pytestmark = pytest.mark.backend("sqlite", "postgresql")


@pytest.fixture(scope="module")
def provider():
    with oidc_provider() as peer:
        yield peer


@pytest.fixture
def config(provider: OidcPeer):
    return parse_config_text(oidc_yaml(provider.issuer))


@pytest.fixture(autouse=True)
def _real_time_and_secret(clock, monkeypatch):
    # The provider stamps its tokens with the real time; the server's (injected) clock starts there too.
    clock.set(datetime.now(UTC))
    monkeypatch.setenv(SECRET_ENV, "client-secret-never-logged")


def _start(app) -> tuple[TestClient, str]:
    client = TestClient(app, raise_server_exceptions=False)
    answer = client.get("/login/oidc?next=/account", follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client, answer.headers["location"]


def _back(client: TestClient, query: dict[str, str]):
    return client.get("/login/oidc/callback", params=query, follow_redirects=False)


def _log_in(app, provider: OidcPeer, sub: str):
    client, url = _start(app)
    return client, _back(client, provider.authorize(url, sub))


def _message(answer) -> str:
    return html.unescape(answer.text)


def test_the_login_page_offers_the_provider(app):
    page = TestClient(app).get("/login").text
    assert "Log in with TestID" in page and 'href="/login/oidc?next=/incidents"' in page


def test_the_authorization_request_uses_pkce_state_and_nonce(app, runtime):
    _client, url = _start(app)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["response_type"] == "code" and query["client_id"] == "warroom"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] and query["nonce"] and "openid" in query["scope"].split()
    assert query["redirect_uri"] == "http://127.0.0.1:8080/login/oidc/callback"
    runtime.settings.public_url = "https://warroom.example.org"
    try:
        assert "redirect_uri=https%3A%2F%2Fwarroom.example.org%2Flogin%2Foidc%2Fcallback" in _start(app)[1]
    finally:
        runtime.settings.public_url = None


def test_a_person_logs_in_through_the_provider(app, runtime, provider):
    provider.set_user("sub-alice-1", preferred_username="alice", groups=["sre", "staff"])
    client, answer = _log_in(app, provider, "sub-alice-1")
    assert answer.status_code == 303 and answer.headers["location"] == "/account"
    page = client.get("/account")
    assert page.status_code == 200 and "<h1>alice</h1>" in page.text and "responder" in page.text
    with runtime.db.session() as session:
        account = accounts.require(session, "alice")
        assert (account.oidc_issuer, account.oidc_subject, account.role) == (
            provider.issuer,
            "sub-alice-1",
            "responder",
        )
        assert account.password_hash is None
        audit = session.query(AuditEntry).filter(AuditEntry.action == "session.login").one()
        assert (audit.actor, audit.actor_kind) == ("alice", "person")


def test_roles_are_read_again_at_each_login_and_the_subject_keeps_the_account(app, runtime, provider):
    provider.set_user("sub-bob", preferred_username="bob", groups=["warroom-admins"])
    client, _ = _log_in(app, provider, "sub-bob")
    assert client.get("/admin/users").status_code == 200
    # Out of the admins' group (and a new username at the provider): the same account, now a viewer.
    provider.set_user("sub-bob", preferred_username="robert", groups=["staff"])
    client, answer = _log_in(app, provider, "sub-bob")
    assert answer.status_code == 303
    assert client.get("/admin/users").status_code == 403
    with runtime.db.session() as session:
        assert accounts.require(session, "bob").role == "viewer"
        assert accounts.get(session, "robert") is None


def test_an_existing_account_of_the_same_name_is_linked(app, runtime, provider, make_account):
    make_account("carol", "viewer", password="a long password here")
    provider.set_user("sub-carol", preferred_username="carol", groups=["sre"])
    _client, answer = _log_in(app, provider, "sub-carol")
    assert answer.status_code == 303
    with runtime.db.session() as session:
        account = accounts.require(session, "carol")
        assert account.oidc_subject == "sub-carol" and account.role == "responder"
        assert accounts.count(session) == 1


def test_an_account_taken_by_another_identity_is_refused(app, provider):
    provider.set_user("sub-dave-1", preferred_username="dave", groups=["sre"])
    _log_in(app, provider, "sub-dave-1")
    provider.set_user("sub-dave-2", preferred_username="dave", groups=["warroom-admins"])
    client, answer = _log_in(app, provider, "sub-dave-2")
    assert answer.status_code == 401
    assert "belongs to another sign-on identity" in _message(answer)
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_an_unmapped_role_is_refused_with_a_clear_message(app, runtime, provider):
    provider.set_user("sub-eve", preferred_username="eve", groups=["marketing"])
    _client, answer = _log_in(app, provider, "sub-eve")
    assert answer.status_code == 401
    assert "has no warroom role" in _message(answer) and "groups" in _message(answer)
    assert "Log in to warroom" in answer.text
    with runtime.db.session() as session:
        assert accounts.get(session, "eve") is None


def test_a_default_role_lets_unmapped_people_in(app, runtime, provider):
    runtime.config.oidc = OidcConfig.model_validate({**runtime.config.oidc.model_dump(), "default_role": "viewer"})
    provider.set_user("sub-finn", preferred_username="finn", groups=[])
    _client, answer = _log_in(app, provider, "sub-finn")
    assert answer.status_code == 303
    with runtime.db.session() as session:
        assert accounts.require(session, "finn").role == "viewer"


def test_a_disabled_account_is_refused(app, runtime, provider):
    provider.set_user("sub-gus", preferred_username="gus", groups=["sre"])
    _log_in(app, provider, "sub-gus")
    with runtime.db.transaction() as session:
        accounts.disable(session, accounts.require(session, "gus"), now=runtime.clock.now())
    _client, answer = _log_in(app, provider, "sub-gus")
    assert answer.status_code == 401 and "This account is disabled" in _message(answer)


def test_a_wrong_state_is_refused(app, provider):
    provider.set_user("sub-hal", preferred_username="hal", groups=["sre"])
    client, url = _start(app)
    query = provider.authorize(url, "sub-hal")
    answer = _back(client, {**query, "state": "forged-state"})
    assert answer.status_code == 401 and "(state)" in _message(answer)
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_a_callback_without_the_pending_cookie_is_refused(app, provider):
    provider.set_user("sub-ian", preferred_username="ian", groups=["sre"])
    _client, url = _start(app)
    query = provider.authorize(url, "sub-ian")
    other = TestClient(app, raise_server_exceptions=False)  # another browser: a login someone else started
    answer = _back(other, query)
    assert answer.status_code == 401 and "took too long, or cookies are blocked" in _message(answer)


def test_a_wrong_nonce_is_refused(app, provider):
    provider.set_user("sub-jo", preferred_username="jo", groups=["sre"])
    client, url = _start(app)
    query = provider.authorize(url, "sub-jo")
    pending = json.loads(base64.urlsafe_b64decode(client.cookies["warroom_oidc"]))
    pending["n"] = "another-login's-nonce"
    client.cookies.set("warroom_oidc", base64.urlsafe_b64encode(json.dumps(pending).encode()).decode())
    answer = _back(client, query)
    assert answer.status_code == 401 and "(nonce)" in _message(answer)


def test_a_tampered_next_never_leads_to_another_site(app, provider):
    provider.set_user("sub-ned", preferred_username="ned", groups=["sre"])
    client, url = _start(app)
    query = provider.authorize(url, "sub-ned")
    pending = json.loads(base64.urlsafe_b64decode(client.cookies["warroom_oidc"]))
    pending["x"] = "//evil.example/phish"
    client.cookies.set("warroom_oidc", base64.urlsafe_b64encode(json.dumps(pending).encode()).decode())
    answer = _back(client, query)
    assert answer.status_code == 303 and answer.headers["location"] == "/incidents"


def test_an_expired_id_token_is_refused(app, clock, provider):
    provider.set_user("sub-kim", preferred_username="kim", groups=["sre"])
    client, url = _start(app)
    query = provider.authorize(url, "sub-kim")
    clock.advance(timedelta(hours=3))  # the provider's tokens live one hour
    answer = _back(client, query)
    assert answer.status_code == 401 and "has expired" in _message(answer)


def test_the_provider_saying_no_is_a_message_not_an_error(app, provider):
    client, url = _start(app)
    answer = _back(client, provider.deny(url))
    assert answer.status_code == 401 and "The sign-on provider did not log you in: " in _message(answer)
    assert "denied" in _message(answer)


def test_a_code_used_twice_is_refused(app, provider):
    provider.set_user("sub-lee", preferred_username="lee", groups=["sre"])
    client, url = _start(app)
    query = provider.authorize(url, "sub-lee")
    pending = client.cookies["warroom_oidc"]
    assert _back(client, query).status_code == 303
    client.cookies.set("warroom_oidc", pending)
    answer = _back(client, query)
    assert answer.status_code == 401 and "refused the login (invalid_grant)" in _message(answer)


def test_an_unreachable_provider_is_a_login_page_message(app, runtime):
    from tests.peers import free_port

    runtime.config.oidc = OidcConfig.model_validate(
        {**runtime.config.oidc.model_dump(), "issuer": f"http://127.0.0.1:{free_port()}"}
    )
    answer = TestClient(app, raise_server_exceptions=False).get("/login/oidc", follow_redirects=False)
    assert answer.status_code == 502 and "cannot be reached" in _message(answer)


def test_a_missing_client_secret_says_which_variable(app, monkeypatch):
    monkeypatch.delenv(SECRET_ENV)
    answer = TestClient(app, raise_server_exceptions=False).get("/login/oidc", follow_redirects=False)
    assert answer.status_code == 502 and SECRET_ENV in answer.text


def test_the_secret_and_tokens_never_reach_the_log(app, provider, debug_logging, capsys):
    provider.set_user("sub-max", preferred_username="max", groups=["sre"])
    client, url = _start(app)
    query = provider.authorize(url, "sub-max")  # (the test's own client logs the provider's answer: not captured)
    debug_logging()
    _back(client, query)
    client, url = _start(app)
    _back(client, {**provider.authorize(url, "sub-max"), "state": "x"})
    # The test's own TestClient logs its requests (to http://testserver): they are not the server's log.
    logged = "\n".join(line for line in _flushed_stderr(capsys).splitlines() if "http://testserver" not in line)
    assert "/oauth2/token" in logged  # the server's own call to the provider is logged, without its form
    assert "sso login" in logged and "sso refused" in logged  # the capture works
    assert "client-secret-never-logged" not in logged
    assert query["code"] not in logged
    assert redact(f"/login/oidc/callback?code={query['code']}&state={query['state']}") == (
        "/login/oidc/callback?code=***&state=***"  # the access log's form of the callback
    )


def test_without_an_oidc_section_there_is_no_button_and_the_routes_say_so(runtime, app):
    runtime.config.oidc = None
    client = TestClient(app, raise_server_exceptions=False)
    assert "Log in with" not in client.get("/login").text
    answer = client.get("/login/oidc", headers={"Accept": "text/html"}, follow_redirects=False)
    assert answer.status_code == 404 and "not configured" in answer.text


# -- the ID token's checks, on tokens signed here (what a real provider never sends on purpose) ----------------


@pytest.fixture
def debug_logging():
    """Call it to log as `warroom serve` does, at debug level (as in test_sessions.py)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield lambda: configure_logging(Settings(log_format="json", log_level="debug"))
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


class _FixedKeys(oidc.Provider):
    def __init__(self, config: OidcConfig, keys: KeySet) -> None:
        super().__init__(config)
        self.fixed = keys

    def keys(self, *, refresh: bool = False) -> KeySet:
        return self.fixed


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"aud": "another-app"}, "another application (audience)"),
        ({"aud": ["warroom", "other"], "azp": "other"}, "authorized party"),
        ({"iss": "https://evil.example"}, "another issuer"),
        ({"exp": 1_000}, "has expired"),
        ({"nonce": "not-this-one"}, "(nonce)"),
        ({"iat": 9_999_999_999}, "dated in the future"),
        ({"sub": ""}, "names no subject"),
    ],
)
def test_id_token_claims_are_checked(change, message):
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    config = OidcConfig(issuer="https://id.example", client_id="warroom", default_role="viewer")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    claims = {
        "iss": "https://id.example",
        "aud": "warroom",
        "sub": "s",
        "nonce": "n",
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 300,
        **change,
    }
    token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
    provider = _FixedKeys(config, KeySet([key]))
    assert oidc.validate(provider, _good(key, now), nonce="n", now=now)["sub"] == "s"  # the same, unchanged
    with pytest.raises(oidc.SsoRefused, match=re.escape(message)):
        oidc.validate(provider, token, nonce="n", now=now)


def _good(key: RSAKey, now: datetime) -> str:
    claims = {
        "iss": "https://id.example",
        "aud": "warroom",
        "sub": "s",
        "nonce": "n",
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 300,
    }
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


@pytest.mark.backend("sqlite")
def test_an_id_token_signed_by_another_key_or_unsigned_is_refused():
    key, other = (RSAKey.generate_key(2048, parameters={"kid": "k1"}) for _ in range(2))
    config = OidcConfig(issuer="https://id.example", client_id="warroom", default_role="viewer")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    provider = _FixedKeys(config, KeySet([key]))
    with pytest.raises(oidc.SsoRefused, match="not validly signed"):
        oidc.validate(provider, _good(other, now), nonce="n", now=now)
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    body = _good(key, now).split(".")[1]
    with pytest.raises(oidc.SsoRefused, match="not validly signed"):
        oidc.validate(provider, f"{header}.{body}.", nonce="n", now=now)


# -- the oidc: section's checks ----------------------------------------------------------------------------------


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("  issuer: http://sso.example.org\n  client_id: w\n  default_role: viewer\n", "is an https:// URL"),
        ("  issuer: https://sso.example.org\n  client_id: w\n", "nobody could log in"),
        ("  issuer: https://sso.example.org\n  client_id: w\n  roles: {ops: admin}\n", "name it with role_claim"),
        (
            "  issuer: https://sso.example.org\n  client_id: w\n  role_claim: groups\n  roles: {ops: root}\n",
            "unknown role 'root'",
        ),
        ("  issuer: https://sso.example.org\n  client_id: w\n  default_role: boss\n", "unknown role 'boss'"),
        (
            "  issuer: https://sso.example.org\n  client_id: w\n  default_role: viewer\n  scopes: [email]\n",
            "must include `openid`",
        ),
        (
            "  issuer: https://sso.example.org\n  client_id: w\n  default_role: viewer\n  client_secret: hunter2\n",
            "client_secret",
        ),
        (
            "  issuer: https://sso.example.org\n  client_id: w\n  default_role: viewer\n  client_secret_env: 'a b'\n",
            "names an environment variable",
        ),
    ],
)
def test_config_check_explains_a_wrong_oidc_section(tmp_path, section, message):
    from typer.testing import CliRunner

    from warroom.cli import app as cli

    path = tmp_path / "warroom.yaml"
    path.write_text("oidc:\n" + section)
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert result.exit_code == 1
    assert message in result.stderr and f"{path}:" in result.stderr and "oidc" in result.stderr


@pytest.mark.backend("sqlite")
def test_config_check_reports_an_unset_secret_variable(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from warroom.cli import app as cli

    path = tmp_path / "warroom.yaml"
    path.write_text(
        "oidc:\n  issuer: https://sso.example.org\n  client_id: w\n  client_secret_env: WARROOM_NOT_SET_X\n"
        "  default_role: viewer\n"
    )
    monkeypatch.delenv("WARROOM_NOT_SET_X", raising=False)
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:4: oidc.client_secret_env: the environment variable WARROOM_NOT_SET_X is not set" in result.stderr
    monkeypatch.setenv("WARROOM_NOT_SET_X", "s")
    assert CliRunner().invoke(cli, ["config", "check", str(path)]).exit_code == 0
