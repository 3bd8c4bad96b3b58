"""The Alerts, On call and Monitors pages in Debian's Chromium against a real `warroom serve` (one test per page).

Data is set up through the API with the first-run admin token; each page is checked with axe (no serious or
critical violation) and screenshotted under tests/artifacts/test_pages_browser/. On call runs at a phone's 390x844."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.alerts.conftest import am_alert, am_payload
from tests.oncall.helpers import Webhook
from tests.web.conftest import Served, axe_check, log_in, screenshot

pytestmark = pytest.mark.browser

FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(scope="module")
def api(served: Served) -> Iterator[httpx.Client]:
    """The served warroom's API as the first-run admin."""
    token = (served.data_dir / "admin-token").read_text().strip()
    with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def receiver() -> Iterator[Webhook]:
    """A local webhook receiver (Apprise json://) for the test message."""
    hook = Webhook().start()
    yield hook
    hook.stop()


def _ok(answer: Any) -> Any:
    assert answer.status_code < 300, answer.text
    return answer.json()


def test_alerts_page_shows_labels_as_text_and_silences_an_alert(page, served, api, request):
    key = _ok(api.post("/api/v1/integrations", json={"name": "prod-am", "type": "alertmanager"}))["key"]
    alert = am_alert("DiskFull", service="db", instance="db-1", team="<script>window.pwned=1</script>")
    _ok(httpx.post(f"{served.url}/api/v1/intake/{key}", json=am_payload(alert)))
    log_in(page, served, "admin", served.admin_password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    page.wait_for_url(re.compile(r"/alerts$"))
    assert page.get_by_text("team=<script>window.pwned=1</script>").is_visible()
    assert page.evaluate("window.pwned") is None
    axe_check(page, "the alerts page")
    screenshot(page, request, "firing")
    page.get_by_role("link", name=re.compile("Silence this alert")).first.click()
    matchers = page.get_by_label(re.compile("Matchers, one a line"))
    assert 'alertname="DiskFull"' in matchers.input_value() and 'instance="db-1"' in matchers.input_value()
    matchers.fill('alertname="DiskFull"\ninstance="db-1"')
    page.get_by_label("For (e.g. 30m, 2h, 1d)").fill("1h")
    page.get_by_role("button", name="Silence", exact=True).click()
    page.wait_for_url(re.compile(r"/alerts$"))
    assert page.get_by_role("status").inner_text().startswith("Silence 1 added until")
    silences = page.get_by_role("region", name="Silences")
    assert silences.get_by_text('instance="db-1"').is_visible()
    axe_check(page, "the alerts page with a silence")
    silences.get_by_role("button", name="Expire silence 1").click()
    assert page.get_by_role("status").inner_text() == "Silence 1 expired."


def test_oncall_page_on_a_phone_override_and_a_test_message(phone_page, served, api, receiver, request):
    page = phone_page
    _ok(api.post("/api/v1/users", json={"id": "admin", "name": "Admin", "contacts": [receiver.url("admin")]}))
    _ok(api.post("/api/v1/users", json={"id": "bob", "contacts": [receiver.url("bob")]}))
    layers = [{"rotation": {"participants": ["bob"], "shift": "1w"}}]
    _ok(api.post("/api/v1/schedules", json={"id": "primary", "layers": layers}))
    log_in(page, served, "admin", served.admin_password)
    page.goto(f"{served.url}/oncall")
    now = page.get_by_role("region", name="Now")
    assert re.search(r"primary\s+bob", now.inner_text())
    assert page.evaluate(FITS), "the on-call page scrolls sideways at 390 px"
    axe_check(page, "the on-call page on a phone")
    screenshot(page, request, "before")
    form = page.get_by_role("region", name="Take a shift or add an override")
    form.get_by_label("Who").select_option("admin")
    form.get_by_label("Until").fill("+8h")
    form.get_by_role("button", name="Add override").tap()
    page.wait_for_url(re.compile(r"/oncall$"))
    assert page.get_by_role("status").inner_text().startswith("Override 1: admin covers primary until")
    assert re.search(r"primary\s+admin \(override\)", page.get_by_role("region", name="Now").inner_text())
    page.get_by_role("button", name="Send me a test").tap()
    page.locator("#test-results").get_by_text("sent", exact=True).wait_for(timeout=60_000)
    assert page.locator("#test-results").get_by_text(re.compile("delivered")).is_visible()
    assert receiver.wait_for(1, path="admin")[0].title == "warroom test notification"
    assert page.evaluate(FITS)
    axe_check(page, "the on-call page after a test message")


def test_monitors_page_draws_the_charts_and_pauses_a_monitor(page, served, api, request):
    _ok(api.post("/api/v1/monitors", json={"name": "host-memory", "service": "infra", "type": "memory"}))
    log_in(page, served, "admin", served.admin_password)
    page.goto(f"{served.url}/monitors")
    monitor = page.get_by_role("region", name=re.compile("host-memory"))
    assert monitor.get_by_role("img", name=re.compile("Uptime of host-memory per day over 90 days")).is_visible()
    assert monitor.locator("rect").count() == 90
    axe_check(page, "the monitors page")
    screenshot(page, request, "monitors")
    monitor.get_by_role("button", name="Pause host-memory").click()
    assert page.get_by_role("status").inner_text() == "host-memory paused: no checks until resumed."
    monitor = page.get_by_role("region", name=re.compile("host-memory"))
    assert monitor.locator(".badge").inner_text() == "paused"
    monitor.get_by_role("button", name="Run now host-memory").click()
    assert re.match(r"host-memory: (up|warn|down)", page.get_by_role("status").inner_text())
    monitor.get_by_role("button", name="Resume host-memory").click()
    assert page.get_by_role("status").inner_text() == "host-memory resumed."
    axe_check(page, "the monitors page after acting")
