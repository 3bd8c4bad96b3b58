"""The Admin pages and single sign-on in Debian's Chromium against a real `warroom serve` (with an `oidc:` section
pointing at a real local provider): each page screenshotted under tests/artifacts/test_browser_admin/ and checked
with axe (no serious or critical violation); the people page on a 390x844 phone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.web.conftest import axe_check, log_in, screenshot
from tests.web.oidc_peer import SECRET_ENV, OidcPeer, oidc_provider, oidc_yaml

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcPeer]:
    with oidc_provider() as peer:
        yield peer


@pytest.fixture(scope="module", autouse=True)
def _sso_config(provider: OidcPeer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Autouse at module scope: set before `served` starts the server, which takes this environment.
    path = tmp_path_factory.mktemp("sso") / "warroom.yaml"
    path.write_text(oidc_yaml(provider.issuer))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WARROOM_CONFIG", str(path))
        patch.setenv(SECRET_ENV, "browser-test-secret")
        yield


def _offline(page) -> None:
    # The provider's page links a stylesheet on a CDN: nothing leaves this machine.
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())


def test_a_person_logs_in_through_the_providers_page(page, served, provider, request):
    provider.set_user("sub-olga", preferred_username="olga", groups=["sre"])
    _offline(page)
    page.goto(f"{served.url}/login")
    axe_check(page, "the login page with single sign-on")
    page.get_by_role("link", name="Log in with TestID").click()
    page.wait_for_url(re.compile(re.escape(provider.issuer) + r"/oauth2/authorize"))
    screenshot(page, request, "provider")
    page.get_by_placeholder("sub").fill("sub-olga")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(r"/incidents"))
    assert page.get_by_text("olga").first.is_visible()
    page.goto(f"{served.url}/account")
    assert page.get_by_text("Role: responder").is_visible()


def test_a_refused_sign_on_is_a_message_on_the_login_page(page, served, provider):
    provider.set_user("sub-pat", preferred_username="pat", groups=["marketing"])
    _offline(page)
    page.goto(f"{served.url}/login")
    page.get_by_role("link", name="Log in with TestID").click()
    page.get_by_placeholder("sub").fill("sub-pat")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(r"/login/oidc/callback"))
    assert "has no warroom role" in page.get_by_role("alert").inner_text()
    axe_check(page, "the login page with a refused sign-on")


def test_an_admin_invites_a_person_and_changes_their_role_on_a_phone(phone_page, served, request):
    page = phone_page
    log_in(page, served, "admin", served.admin_password)
    page.get_by_role("link", name="Admin").click()
    page.wait_for_url(re.compile(r"/admin/users"))
    page.get_by_label("Username (the same as their on-call user)").fill("quinn")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Invite", exact=True).click()
    link = page.get_by_label("Set-password link").input_value()
    assert link.startswith(f"{served.url}/set-password?token=")
    axe_check(page, "the people page with an invite link")
    screenshot(page, request, "invited")
    page.get_by_label("Role of quinn").select_option("responder")
    page.get_by_role("row", name=re.compile("quinn")).get_by_role("button", name="Set role").click()
    assert page.get_by_role("status").first.inner_text() == "quinn is now responder."
    page.get_by_role("button", name="Disable quinn").click()
    assert page.get_by_role("button", name="Enable quinn").is_visible()
    axe_check(page, "the people page")


def test_an_admin_creates_a_token_and_revokes_it(page, served, request):
    log_in(page, served, "admin", served.admin_password)
    page.goto(f"{served.url}/admin/tokens")
    page.get_by_label("Name").fill("ci-deploys")
    page.get_by_label("Role").select_option("responder")
    page.get_by_role("button", name="Create").click()
    token = page.get_by_label("Token", exact=True).input_value()
    assert token.startswith("wr_")
    axe_check(page, "the tokens page with a new token")
    screenshot(page, request, "created")
    page.get_by_role("button", name="Revoke ci-deploys").click()
    assert page.get_by_role("status").first.inner_text() == "Token ci-deploys is revoked."
    assert token not in page.content()
    axe_check(page, "the tokens page")


def test_an_admin_creates_an_alertmanager_integration_with_its_configuration(page, served, request):
    log_in(page, served, "admin", served.admin_password)
    page.goto(f"{served.url}/admin/integrations")
    page.get_by_label("Name").fill("prod-am")
    page.get_by_label("Sender").select_option("alertmanager")
    page.get_by_role("button", name="Create").click()
    key = page.get_by_label("Key", exact=True).input_value()
    shown = page.locator("#integration-key pre").first.inner_text()
    assert f"url: {served.url}/api/v1/intake" in shown and f"credentials: {key}" in shown
    axe_check(page, "the integrations page with a new key")
    screenshot(page, request, "created")
    page.goto(f"{served.url}/admin/integrations")
    assert key not in page.content() and f"{served.url}/api/v1/intake" in page.content()
    axe_check(page, "the integrations page")
