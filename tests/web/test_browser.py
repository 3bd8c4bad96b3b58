"""The console in Debian's Chromium against a real `warroom serve`: log in, declare, acknowledge, update, log out.

One server and one browser for the module (fixtures in conftest.py); each page is screenshotted under
tests/artifacts/test_browser/ and checked with axe (no serious or critical violation)."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import axe_check, log_in, screenshot

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
