"""The admin pages: people and roles, API tokens, integrations with their senders' configuration."""

from __future__ import annotations

import html
import re

import pytest
import yaml
from starlette.testclient import TestClient

from warroom.auth import accounts
from warroom.auth import service as auth_service
from warroom.auth.models import AuditEntry

pytestmark = pytest.mark.backend("sqlite", "postgresql")

PAGES = ["/admin/users", "/admin/tokens", "/admin/integrations"]


def _shown(page: str, element_id: str) -> str:
    """The value of the read-only input `element_id` (a secret shown once)."""
    match = re.search(rf'id="{element_id}"[^>]*value="([^"]*)"', page)
    assert match, f"no #{element_id} on the page"
    return html.unescape(match.group(1))


def _pre_blocks(page: str) -> list[str]:
    return [html.unescape(b) for b in re.findall(r"<pre[^>]*>(.*?)</pre>", page, re.S)]


def _audit(runtime, action: str) -> list[tuple[str, str, str]]:
    with runtime.db.session() as session:
        return [(e.actor, e.actor_kind, e.target) for e in auth_service.list_audit(session, action=action)]


@pytest.mark.parametrize("path", PAGES)
def test_admin_pages_are_for_admins_only(console_for, path):
    anonymous = console_for(None)
    answer = anonymous.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    bogus = console_for(None)
    bogus.cookies.set("warroom_session", "not-a-session")
    assert bogus.get(path, follow_redirects=False).headers["location"].startswith("/login")
    for role in ("viewer", "responder"):
        answer = console_for(role).get(path)
        assert answer.status_code == 403 and "Not allowed" in answer.text
    assert console_for("admin").get(path).status_code == 200


def test_the_admin_link_is_in_the_nav_of_admins_only(console_for):
    assert 'href="/admin"' in console_for("admin").get("/incidents").text
    for role in ("viewer", "responder"):
        assert 'href="/admin"' not in console_for(role).get("/incidents").text


def test_an_invite_shows_a_one_time_link_that_sets_the_password(console_for, runtime):
    admin = console_for("admin")
    answer = admin.act("/admin/users/invite", {"username": "carol", "role": "viewer"})
    assert answer.status_code == 200
    link = _shown(answer.text, "invite-url")
    assert link.startswith("http://testserver/set-password?token=")
    # The link works once, through the set-password page, and nothing else on the page holds it.
    assert answer.text.count(link.split("token=")[1]) == 1
    stranger = TestClient(admin.app)
    form = stranger.get(link)
    assert form.status_code == 200 and "carol" in form.text
    with runtime.db.session() as session:
        account = accounts.require(session, "carol")
        assert account.role == "viewer" and account.invite_hash is not None
    assert _audit(runtime, "account.invite") == [("admin", "person", "account:carol")]


def test_the_invite_link_uses_the_public_url(console_for, runtime):
    runtime.settings.public_url = "http://warroom.example.org:8443/"
    try:
        answer = console_for("admin").act("/admin/users/invite", {"username": "dave"})
    finally:
        runtime.settings.public_url = None
    assert _shown(answer.text, "invite-url").startswith("http://warroom.example.org:8443/set-password?token=")


def test_a_bad_invite_says_what_is_wrong(console_for):
    answer = console_for("admin").act("/admin/users/invite", {"username": "no spaces please"})
    assert answer.status_code == 422
    assert "A username is 1-100 letters" in answer.text and 'id="invite-url"' not in answer.text


def test_role_disable_enable_and_log_out_everywhere(console_for, runtime):
    admin = console_for("admin")
    erin = console_for("viewer", username="erin")
    assert erin.get("/account").status_code == 200
    answer = admin.act("/admin/users/erin/role", {"role": "responder"})
    assert answer.status_code == 303
    assert "erin is now responder" in admin.get("/admin/users").text
    # The new role applies on erin's next request: the declare form is theirs now.
    assert erin.act("/incidents", {"title": "x", "severity": "P3"}).status_code == 303

    admin.act("/admin/users/erin/logout-everywhere")
    assert erin.get("/account", follow_redirects=False).headers["location"].startswith("/login")

    erin = console_for("responder", username="erin")
    admin.act("/admin/users/erin/disable")
    assert erin.get("/account", follow_redirects=False).status_code == 303
    assert "<strong>disabled</strong>" in admin.get("/admin/users").text
    admin.act("/admin/users/erin/enable")
    with runtime.db.session() as session:
        assert accounts.require(session, "erin").disabled_at is None
    assert _audit(runtime, "account.disable") == [("admin", "person", "account:erin")]
    assert _audit(runtime, "account.role")[0][0] == "admin"


def test_an_admin_cannot_disable_or_demote_themselves(console_for, runtime):
    admin = console_for("admin")
    answer = admin.act("/admin/users/admin/disable")
    assert answer.status_code == 422 and "cannot disable your own account" in answer.text
    answer = admin.act("/admin/users/admin/role", {"role": "viewer"})
    assert answer.status_code == 422
    with runtime.db.session() as session:
        account = accounts.require(session, "admin")
        assert account.role == "admin" and account.disabled_at is None


def test_an_unknown_account_or_role_is_a_clear_page(console_for):
    admin = console_for("admin")
    assert "No account 'ghost'" in html.unescape(admin.act("/admin/users/ghost/disable").text)
    answer = admin.act("/admin/users/admin/role", {"role": "king"})
    assert answer.status_code == 422 and "Unknown role" in answer.text


def test_a_viewer_sees_no_action_and_is_refused_every_one(console_for, runtime):
    console_for("responder", username="frank")
    viewer = console_for("viewer")
    for path, data in [
        ("/admin/users/invite", {"username": "mallory", "role": "admin"}),
        ("/admin/users/frank/role", {"role": "viewer"}),
        ("/admin/users/frank/disable", {}),
        ("/admin/users/frank/logout-everywhere", {}),
        ("/admin/tokens", {"name": "stolen", "role": "admin"}),
        ("/admin/integrations", {"name": "evil", "type": "generic"}),
    ]:
        assert viewer.act(path, data).status_code == 403, path
    with runtime.db.session() as session:
        assert accounts.get(session, "mallory") is None
        assert accounts.require(session, "frank").disabled_at is None
        assert auth_service.list_tokens(session) == []


def test_actions_without_the_csrf_token_are_refused(console_for, runtime):
    admin = console_for("admin")
    console_for("responder", username="gina")
    for csrf in ("", "0" * 64):
        answer = admin.post("/admin/users/gina/disable", data={"csrf_token": csrf}, follow_redirects=False)
        assert answer.status_code == 403 and "out of date" in answer.text
        answer = admin.post("/admin/tokens", data={"csrf_token": csrf, "name": "t"}, follow_redirects=False)
        assert answer.status_code == 403
    with runtime.db.session() as session:
        assert accounts.require(session, "gina").disabled_at is None
        assert auth_service.list_tokens(session) == []


def test_a_token_is_shown_once_and_works_until_revoked(console_for, runtime):
    admin = console_for("admin")
    answer = admin.act("/admin/tokens", {"name": "ci", "role": "responder"})
    assert answer.status_code == 200
    token = _shown(answer.text, "token-value")
    api = TestClient(admin.app)
    assert api.get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listing = admin.get("/admin/tokens").text
    assert "ci" in listing and token not in listing
    with runtime.db.session() as session:
        token_id = auth_service.get_token(session, "ci").id
    assert admin.act(f"/admin/tokens/{token_id}/revoke").status_code == 303
    assert api.get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "revoked" in admin.get("/admin/tokens").text
    assert _audit(runtime, "token.create") == [("admin", "person", f"token:{token_id}")]
    again = admin.act("/admin/tokens", {"name": "ci", "role": "viewer"})
    assert again.status_code == 409 and "already exists" in again.text


def test_an_alertmanager_integration_comes_with_a_config_that_works(console_for, runtime):
    admin = console_for("admin")
    answer = admin.act("/admin/integrations", {"name": "prod-am", "type": "alertmanager", "service": "checkout"})
    assert answer.status_code == 200
    key = _shown(answer.text, "integration-key-value")
    config = yaml.safe_load(_pre_blocks(answer.text.split('id="integration-key"')[1])[0])
    hook = config["receivers"][0]["webhook_configs"][0]
    assert hook["url"] == "http://testserver/api/v1/intake"
    assert hook["http_config"]["authorization"] == {"type": "Bearer", "credentials": key}
    # Sending what Alertmanager would send, to the URL and with the key of the snippet, raises an alert.
    payload = {
        "version": "4",
        "status": "firing",
        "receiver": "warroom",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://am",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "Down", "severity": "critical"},
                "annotations": {},
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": "abc",
            }
        ],
    }
    sent = TestClient(admin.app).post(
        hook["url"].removeprefix("http://testserver"), json=payload, headers={"Authorization": f"Bearer {key}"}
    )
    assert sent.status_code == 200, sent.text
    # Afterwards the page shows the configuration without the key.
    listing = admin.get("/admin/integrations").text
    assert key not in listing and "credentials_file" in listing
    assert "url: http://testserver/api/v1/intake" in listing
    assert _audit(runtime, "integration.create")[0][:2] == ("admin", "person")


def test_grafana_and_pagerduty_configs_use_the_public_url(console_for, runtime):
    runtime.settings.public_url = "http://warroom.example.org:8443"
    try:
        admin = console_for("admin")
        grafana = admin.act("/admin/integrations", {"name": "graf", "type": "grafana"})
        pagerduty = admin.act("/admin/integrations", {"name": "pd", "type": "pagerduty"})
    finally:
        runtime.settings.public_url = None
    key = _shown(grafana.text, "integration-key-value")
    contact = yaml.safe_load(_pre_blocks(grafana.text.split('id="integration-key"')[1])[0])
    settings = contact["contactPoints"][0]["receivers"][0]["settings"]
    assert settings["url"] == "http://warroom.example.org:8443/api/v1/intake"
    assert settings["authorization_credentials"] == key
    pd_key = _shown(pagerduty.text, "integration-key-value")
    blocks = _pre_blocks(pagerduty.text.split('id="integration-key"')[1])
    assert "http://warroom.example.org:8443/v2/enqueue" in blocks[0] and pd_key in blocks[0]
    am = yaml.safe_load(blocks[1])["receivers"][0]["pagerduty_configs"][0]
    assert am == {"url": "http://warroom.example.org:8443/v2/enqueue", "routing_key": pd_key}
    event = {
        "routing_key": pd_key,
        "event_action": "trigger",
        "payload": {"summary": "x", "source": "s", "severity": "critical"},
    }
    assert TestClient(admin.app).post("/v2/enqueue", json=event).status_code == 202


def test_rotating_a_key_shows_the_new_one_and_the_old_one_stops(console_for, runtime):
    admin = console_for("admin")
    old = _shown(admin.act("/admin/integrations", {"name": "hooks", "type": "generic"}).text, "integration-key-value")
    new = _shown(admin.act("/admin/integrations/hooks/rotate").text, "integration-key-value")
    assert new != old
    api = TestClient(admin.app)
    body = {"title": "disk full"}
    assert api.post(f"/api/v1/intake/{old}", json=body).status_code == 401
    admin.act("/admin/integrations/hooks/revoke")
    assert api.post(f"/api/v1/intake/{new}", json=body).status_code == 401
    assert "revoked" in admin.get("/admin/integrations").text


def test_a_hostile_host_header_is_not_echoed_into_the_config(console_for):
    admin = console_for("admin")
    admin.act("/admin/integrations", {"name": "am", "type": "alertmanager"})
    page = admin.get("/admin/integrations", headers={"Host": "evil.example\r\nx: y"}).text
    assert "evil.example" not in page


def test_user_controlled_text_is_escaped(console_for, runtime):
    admin = console_for("admin")
    with runtime.db.transaction() as session:
        auth_service.create_token(
            session,
            name="<script>alert(1)</script>",
            role=auth_service.parse_role("viewer"),
            created_by="tests",
            now=runtime.clock.now(),
        )
    admin.act("/admin/integrations", {"name": "<img src=x onerror=alert(1)>", "type": "generic", "service": "<b>s</b>"})
    tokens = admin.get("/admin/tokens").text
    assert "<script>alert(1)</script>" not in tokens and "&lt;script&gt;alert(1)&lt;/script&gt;" in tokens
    integrations = admin.get("/admin/integrations").text
    assert "<img src=x" not in integrations and "&lt;img src=x onerror=alert(1)&gt;" in integrations
    assert "<b>s</b>" not in integrations


def test_every_admin_action_is_audited_under_the_person(console_for, runtime):
    admin = console_for("admin")
    admin.act("/admin/users/invite", {"username": "hal"})
    admin.act("/admin/users/hal/disable")
    with runtime.db.session() as session:
        rows = session.query(AuditEntry).filter(AuditEntry.target == "account:hal").all()
    assert {(r.actor, r.actor_kind, r.action) for r in rows} == {
        ("admin", "person", "account.invite"),
        ("admin", "person", "account.disable"),
    }


def test_each_admin_action_leaves_its_audit_entry_and_says_what_it_did(console_for, runtime):
    admin = console_for("admin")
    console_for("viewer", username="ivy")
    said = []
    for path, data in [
        ("/admin/users/ivy/role", {"role": "responder"}),
        ("/admin/users/ivy/logout-everywhere", {}),
        ("/admin/users/ivy/disable", {}),
        ("/admin/users/ivy/enable", {}),
    ]:
        answer = admin.act(path, data)
        assert (answer.status_code, answer.headers["location"]) == (303, "/admin/users"), path
        said.append(admin.get("/admin/users").text)
    for page, message in zip(
        said,
        [
            "ivy is now responder.",
            "ivy is logged out everywhere (1 session ended).",
            "ivy is disabled; their sessions ended.",
            "ivy can log in again.",
        ],
        strict=True,
    ):
        assert message in page
    assert admin.act("/admin/tokens", {"name": "ci", "role": "viewer"}).status_code == 200
    with runtime.db.session() as session:
        token_id = auth_service.get_token(session, "ci").id
    answer = admin.act(f"/admin/tokens/{token_id}/revoke")
    assert (answer.status_code, answer.headers["location"]) == (303, "/admin/tokens")
    assert "Token ci is revoked." in admin.get("/admin/tokens").text
    admin.act("/admin/integrations", {"name": "hooks", "type": "generic"})
    assert admin.act("/admin/integrations/hooks/rotate").status_code == 200
    answer = admin.act("/admin/integrations/hooks/revoke")
    assert (answer.status_code, answer.headers["location"]) == (303, "/admin/integrations")
    assert "Integration hooks is revoked; its sender is refused." in admin.get("/admin/integrations").text
    with runtime.db.session() as session:
        entries = session.query(AuditEntry).filter(AuditEntry.actor == "admin").order_by(AuditEntry.id).all()
        integration_id = entries[-1].target
    assert [(e.actor_kind, e.action, e.target, e.detail) for e in entries] == [
        ("person", "account.role", "account:ivy", {"from": "viewer", "to": "responder"}),
        ("person", "session.logout_everywhere", "account:ivy", {"ended": 1}),
        ("person", "account.disable", "account:ivy", {}),
        ("person", "account.enable", "account:ivy", {}),
        ("person", "token.create", f"token:{token_id}", {"name": "ci", "role": "viewer"}),
        ("person", "token.revoke", f"token:{token_id}", {}),
        ("person", "integration.create", integration_id, {"name": "hooks", "type": "generic", "via": "console"}),
        ("person", "integration.rotate", integration_id, {}),
        ("person", "integration.revoke", integration_id, {}),
    ]
