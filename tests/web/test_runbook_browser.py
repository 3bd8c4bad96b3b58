"""The runbook in Debian's Chromium against a real `warroom serve` (its engine runs the steps): start a run, run a
step and see its output arrive over the live timeline, confirm a dangerous step, tick a check off; the library.

Screenshots under tests/artifacts/test_runbook_browser/; axe on each page (no serious or critical violation)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers import free_port, wait_answering
from tests.web.conftest import PASSWORD, Served, axe_check, log_in, screenshot

pytestmark = pytest.mark.browser

RUNBOOK = """
---
id: checkout-down
title: Checkout down
services: [checkout]
---
# Checkout down

## Diagnosis
Look at the **service** first.

```bash
printf '%s\\n' <service> '<script>window.pwned = 1</script>'
```

## Mitigation
Clear the cache.

```bash
rm -rf "$TMPDIR/warroom-never-exists-<service>"
```

## Verification
- [ ] Dashboard is green
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`warroom serve` (with its engine) on a free port, SQLite, and a runbook folder from warroom.yaml."""
    folder = tmp_path_factory.mktemp("served-runbooks")
    runbooks = folder / "runbooks"
    runbooks.mkdir()
    (runbooks / "checkout-down.md").write_text(textwrap.dedent(RUNBOOK).lstrip("\n"), encoding="utf-8")
    config = folder / "warroom.yaml"
    config.write_text(f"runbooks:\n  folders: [{runbooks}]\n", encoding="utf-8")
    port = free_port()
    env = dict(os.environ)
    env.pop("WARROOM_DATABASE_URL", None)
    env.update(
        WARROOM_DATA_DIR=str(folder / "data"),
        WARROOM_PORT=str(port),
        WARROOM_HOST="127.0.0.1",
        WARROOM_CONFIG=str(config),
        TMPDIR=str(folder),
        NO_COLOR="1",
    )
    log = folder / "serve.log"
    with log.open("wb") as handle:
        process = subprocess.Popen([sys.executable, "-m", "warroom", "serve"], env=env, stdout=handle, stderr=handle)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_answering(f"{url}/health", process, 60, lambda: log.read_text(errors="replace")[-3000:])
        password = (folder / "data" / "admin-password").read_text().strip()
        yield Served(url=url, admin_password=password, data_dir=folder / "data", env=env, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def declare(page, title: str) -> None:
    form = page.get_by_role("region", name="Declare an incident")
    form.get_by_label("Title").fill(title)
    form.get_by_label("Severity", exact=True).select_option("P3")
    form.get_by_label("Services (comma-separated)").fill("checkout")
    form.get_by_role("button", name="Declare").click()
    page.wait_for_url(re.compile(r"/incidents/\d+$"))


def test_a_responder_runs_a_step_sees_its_output_and_confirms_a_dangerous_one(page, served, request):
    served.add_account("rosa", "responder")
    log_in(page, served, "rosa", PASSWORD)
    declare(page, "Checkout API 502s")
    part = page.locator("#runbook")
    part.get_by_role("button", name="Start runbook Checkout down").click()
    expect_text(part, "Started runbook Checkout down.")
    # The command as it will run, filled from the incident.
    assert "printf '%s\\n' checkout" in part.get_by_label("Command of step 1").inner_text()

    part.get_by_role("button", name="Run step 1", exact=True).click()
    # The engine runs it; the step's output arrives through the live timeline, escaped: text, not a script.
    output = part.get_by_label("Output of step 1")
    output.wait_for(timeout=60_000)
    assert output.inner_text() == "checkout\n<script>window.pwned = 1</script>\n"
    assert page.evaluate("window.pwned") is None
    screenshot(page, request, "step-output")

    # The dangerous step asks first, naming the command; it runs only from that second form.
    part.get_by_role("button", name="Run step 2…", exact=True).click()
    confirm = part.get_by_role("button", name=re.compile(r"^Confirm: run rm -rf"))
    confirm.wait_for()
    assert "warroom-never-exists-checkout" in confirm.inner_text()
    assert part.get_by_role("alert").inner_text().startswith("Step 2 is dangerous")
    axe_check(page, "the incident page with a confirmation")
    screenshot(page, request, "confirm")
    confirm.click()
    expect_text(part, "(confirmed)")
    part.get_by_label("Output of step 2").wait_for(timeout=60_000)
    assert "exit code 0" in part.locator("li.step").nth(1).inner_text()

    part.get_by_role("button", name="Step 3 done", exact=True).click()
    expect_text(part, "Done by rosa")
    axe_check(page, "the incident page with a runbook run")


def test_the_library_and_a_runbook_on_a_phone(phone_page, served, request):
    page = phone_page
    log_in(page, served, "admin", served.admin_password)
    page.get_by_role("link", name="Runbooks").click()
    page.wait_for_url(re.compile(r"/runbooks$"))
    assert page.get_by_role("heading", name="Runbooks", level=1).is_visible()
    axe_check(page, "the runbook library")
    screenshot(page, request, "library")
    page.get_by_role("link", name="Checkout down").click()
    page.wait_for_url(re.compile(r"/runbooks/checkout-down$"))
    assert page.get_by_role("heading", name="Diagnosis").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the runbook page is {width}px wide on a 390px phone"
    axe_check(page, "a runbook")


def expect_text(locator, text: str) -> None:
    locator.get_by_text(text, exact=False).first.wait_for(timeout=60_000)


@pytest.fixture(autouse=True)
def _no_stray_files(served: Served) -> Iterator[None]:
    yield
    assert not list(Path(served.env["TMPDIR"]).glob("warroom-never-exists-*"))
