"""The incident list in Debian's Chromium updates live: an alert sent to the intake of a real `warroom serve`
makes a new incident appear on an open list page without a reload, on a desktop and on a phone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.alerts.conftest import am_alert, am_payload
from tests.web.conftest import Served, axe_check, log_in, screenshot

pytestmark = pytest.mark.browser


def _intake_key(page: Any, served: Served, name: str) -> str:
    page.goto(f"{served.url}/admin/integrations")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Sender").select_option("alertmanager")
    page.get_by_role("button", name="Create").click()
    return str(page.get_by_label("Key", exact=True).input_value())


def _alert_appears_without_reload(page: Any, served: Served, request: pytest.FixtureRequest, name: str) -> None:
    log_in(page, served, "admin", served.admin_password)
    key = _intake_key(page, served, f"am-{name}")
    page.goto(f"{served.url}/incidents")
    page.evaluate("window.__notReloaded = true")  # gone if the page reloads
    expect(page.locator("#incident-lists")).to_be_visible()
    page.wait_for_timeout(500)  # the stream connects (htmx opens it once the page is processed)
    alert = am_alert(name, summary=f"{name} <script>window.__xss = 1</script>")
    sent = httpx.post(f"{served.url}/api/v1/intake/{key}", json=am_payload(alert), timeout=10)
    assert sent.status_code == 200, sent.text
    expect(page.locator("#incident-lists")).to_contain_text(name, timeout=60_000)
    assert page.evaluate("window.__notReloaded === true"), "the list changed without a reload"
    assert page.evaluate("window.__xss === undefined"), "the title arrived as text"
    screenshot(page, request, "arrived")
    axe_check(page, "the incident list after a live update")


def test_an_alert_makes_a_new_incident_appear_on_an_open_list(page, served, request):
    _alert_appears_without_reload(page, served, request, "CheckoutErrors")


def test_on_a_phone_the_new_incident_appears_too(phone_page, served, request):
    _alert_appears_without_reload(phone_page, served, request, "PhoneAlert")
