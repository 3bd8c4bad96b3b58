"""The console in Debian's Chromium against a real `warroom serve`: log in, declare, acknowledge, update, log out.

One server and one browser for the module (fixtures in conftest.py); each page is screenshotted under
tests/artifacts/test_browser/ and checked with axe (no serious or critical violation)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.conftest import PASSWORD, axe_check, log_in, screenshot

pytestmark = pytest.mark.browser


def test_first_run_admin_logs_in_with_the_printed_password_and_out_again(page, served, request):
    page.goto(served.url)
    page.wait_for_url(re.compile(r"/login"))
    axe_check(page, "the login page")
    screenshot(page, request, "login")
    log_in(page, served, "admin", served.admin_password)
    assert page.get_by_role("heading", name="Incidents").is_visible()
    axe_check(page, "the incident list")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login"))
    assert page.get_by_text("You are logged out.").is_visible()
    page.goto(f"{served.url}/incidents")
    page.wait_for_url(re.compile(r"/login\?next="))


def test_a_wrong_password_says_so_on_the_page(page, served):
    page.goto(f"{served.url}/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("certainly not it")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong username or password."
    axe_check(page, "the login page with an error")


def test_an_unknown_page_is_a_clear_404_page(page, served):
    page.goto(f"{served.url}/no-such-page")
    assert page.get_by_role("heading", name="Not found").is_visible()
    axe_check(page, "the 404 page")


def test_a_responder_declares_acknowledges_updates_and_logs_out(page, served, request):
    served.add_account("rita", "responder")
    log_in(page, served, "rita", PASSWORD)
    declare = page.get_by_role("region", name="Declare an incident")
    declare.get_by_label("Title").fill("Checkout API 502s <script>window.pwned = 1</script>")
    declare.get_by_label("Severity", exact=True).select_option("P1")
    declare.get_by_label("Services (comma-separated)").fill("checkout")
    declare.get_by_role("button", name="Declare").click()
    page.wait_for_url(re.compile(r"/incidents/\d+$"))
    assert page.get_by_role("status").first.inner_text().startswith("Declared incident #")
    # The title is text on the page, never markup that runs.
    assert "<script>window.pwned = 1</script>" in page.get_by_role("heading", level=1).inner_text()
    assert page.evaluate("window.pwned") is None
    axe_check(page, "a triggered incident")
    screenshot(page, request, "declared")

    page.keyboard.press("a")  # acknowledge, from the keyboard
    page.get_by_text("Acknowledged: escalation stopped.").wait_for()
    assert page.locator(".badge.st-acknowledged").first.is_visible()
    assert page.get_by_text("Declared incident #").count() == 0  # the old message is gone

    page.keyboard.press("u")  # the status update form opens with the template, focused
    message = page.get_by_label("Update (starts from the status update template)")
    assert message.evaluate("element => element === document.activeElement")
    assert "Next update:" in message.input_value()
    page.get_by_label("Status", exact=True).select_option("identified")
    message.fill("Bad deploy of v2.3.1; rolling back")
    page.get_by_role("button", name="Post update").click()
    page.get_by_text("Status update posted.").wait_for()
    assert page.locator("#timeline-events").get_by_text("Bad deploy of v2.3.1; rolling back").is_visible()
    assert page.locator(".badge.st-identified").first.is_visible()
    axe_check(page, "an incident after an update")
    screenshot(page, request, "updated")

    # A note written elsewhere (the API, with the first-run admin token) appears without a reload.
    number = page.url.rsplit("/", 1)[1]
    token = (served.data_dir / "admin-token").read_text().strip()
    page.evaluate("window.notReloaded = true")
    sent = httpx.post(
        f"{served.url}/api/v1/incidents/{number}/notes",
        json={"message": "Seen from the API <b>bold?</b>"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert sent.status_code == 201, sent.text
    page.locator("#timeline-events").get_by_text("Seen from the API <b>bold?</b>").wait_for(timeout=60_000)
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#timeline-events li").first.inner_text().startswith("note")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login"))
    page.go_back()  # a page from before the logout must not act for anyone
    page.goto(page.url)
    page.wait_for_url(re.compile(r"/login\?next="))


def test_on_a_phone_the_pages_fit_and_work(phone_page, served, request):
    page = phone_page
    log_in(page, served, "admin", served.admin_password)
    fits = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(fits), "the incident list scrolls sideways at 390 px"
    axe_check(page, "the incident list on a phone")
    screenshot(page, request, "list")
    page.get_by_label("Title").fill("Search is slow")
    page.get_by_role("button", name="Declare").click()
    page.wait_for_url(re.compile(r"/incidents/\d+$"))
    assert page.evaluate(fits), "the incident page scrolls sideways at 390 px"
    page.get_by_role("button", name="Acknowledge").tap()
    page.get_by_text("Acknowledged: escalation stopped.").wait_for()
    axe_check(page, "an incident on a phone")


def test_an_invited_person_chooses_a_password_and_is_logged_in(page, served, request):
    printed = served.cli("user", "invite", "ines", "--role", "viewer").stdout
    link = next(word for word in printed.split() if "/set-password?token=" in word)
    assert link.startswith(served.url)
    page.goto(link)
    axe_check(page, "the set-password page")
    page.get_by_label("New password (at least 12 characters)").fill(PASSWORD)
    page.get_by_label("The same again").fill(PASSWORD)
    page.get_by_role("button", name="Set password and log in").click()
    page.wait_for_url(re.compile(r"/incidents$"))
    assert page.get_by_text("Your password is set; you are logged in.").is_visible()
    assert "Declare an incident" not in page.content()  # a viewer
    page.goto(link)  # the link is spent
    assert page.get_by_role("heading", name="Not found").is_visible()


def test_durations_run_on_the_page_without_a_reload(page, served):
    page.clock.install()
    log_in(page, served, "admin", served.admin_password)
    declare = page.get_by_role("region", name="Declare an incident")
    declare.get_by_label("Title").fill("Payments down")
    declare.get_by_label("Severity", exact=True).select_option("P0")  # acknowledge within 5 minutes
    declare.get_by_role("button", name="Declare").click()
    page.wait_for_url(re.compile(r"/incidents/\d+$"))
    acknowledge = page.locator("tr", has=page.get_by_role("rowheader", name="acknowledge"))
    expect(acknowledge).to_contain_text("running (")
    page.clock.fast_forward("06:00")  # the page's own timer, no request: the phase runs on, past its target
    expect(acknowledge).to_contain_text(re.compile(r"6m( \d+s)? so far"))
    expect(acknowledge).to_contain_text(re.compile(r"missed \(1m( \d+s)? over\)"))
