"""The status page in Debian's Chromium: screenshots at 1280 and 390 px, axe, no JavaScript, Atlassian's widget.

Everything is served on 127.0.0.1: warroom by uvicorn in a thread, the widget's test page by a tiny static
server on another port (so the widget's fetch is cross-origin, as on a real customer's site).
"""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.statuspage.facedata import past_incidents

pytestmark = [pytest.mark.browser, pytest.mark.backend("sqlite")]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WIDGET = Path(__file__).parent / "widget"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def widget_site(tmp_path: Path, live_server: Any) -> Iterator[str]:
    """A customer's page on another 127.0.0.1 origin embedding Atlassian's widget, pointed at warroom."""
    shutil.copy(WIDGET / "status-widget.js", tmp_path / "status-widget.js")
    (tmp_path / "index.html").write_text(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Our shop</title></head><body>"
        f"<statuspage-widget id='basic' src='{live_server.url}'></statuspage-widget>"
        f"<statuspage-widget id='badge' src='{live_server.url}' appearance='badge'></statuspage-widget>"
        "<script src='/status-widget.js'></script></body></html>"
    )
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


def test_page_screenshots_and_accessibility(browser, source, live_server):
    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(f"{live_server.url}/status")
        assert page.locator("h1.banner").inner_text() == "Partial System Outage"
        # Nothing wider than the screen: the page reads on a phone without sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(ARTIFACTS / f"status-{width}.png"), full_page=True)
        results = Axe().run(page)
        serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
        assert not serious, results.generate_report()
        context.close()


def test_page_reads_without_javascript(browser, source, live_server):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/status")
    text = page.locator("main").inner_text()
    assert "Partial System Outage" in text and "Checkout is slow" in text and "Search cluster upgrade" in text
    assert page.locator("li.component").count() == 5
    page.goto(f"{live_server.url}/status/history?page=2")
    assert "Past incident number 20" in page.locator("main").inner_text()
    page.click("a[rel=next]")
    assert "Page 3 of 3" in page.locator("main").inner_text()
    context.close()


def test_atlassian_widget_shows_warroom_status_and_its_change(browser, source, change, live_server, widget_site):
    source.replace(source.snapshot, past_incidents(2))
    context = browser.new_context()
    page = context.new_page()
    page.goto(widget_site)
    basic = page.locator("#basic .status-text")
    basic.wait_for(timeout=15_000)
    assert basic.inner_text() == "Partial System Outage"
    assert "major" in (page.locator("#basic .status-indicator").get_attribute("class") or "")
    # The badge lower-cases the words with CSS; the text it shows is the description.
    assert (page.locator("#badge .status-indicator").text_content() or "").strip() == "Partial System Outage"

    change(indicator="none", description="All Systems Operational", incidents=())
    page.reload()
    page.locator("#basic .status-text").wait_for(timeout=15_000)
    assert page.locator("#basic .status-text").inner_text() == "All Systems Operational"
    assert "none" in (page.locator("#basic .status-indicator").get_attribute("class") or "")
    context.close()
