"""The console's test harness (other console pages use it too).

In-process: `make_account`, and `console_for(role)`, a TestClient logged in as a person of that role (a real
server-side session and its cookie) with helpers that send the CSRF token the way the pages do.

In a real browser: `served` (one `warroom serve` per test module, on a free port, with its first-run admin
password read from DATA_DIR/admin-password), `browser` (Debian's Chromium through Playwright, one per module),
`page` and `phone_page` (a fresh context per test, 1280x800 and 390x844; a screenshot of the last state is saved under
tests/artifacts/<module>/<test>.png), `log_in(page, served, user, password)`, and `axe_check(page, what)`,
which fails on serious or critical accessibility violations. Mark browser tests `@pytest.mark.browser`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.peers import free_port, wait_answering
from warroom.auth import accounts
from warroom.auth import sessions as browser_sessions
from warroom.auth.actor import Role
from warroom.auth.models import Account
from warroom.runtime import Runtime

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"


class ConsoleClient(TestClient):
    """A TestClient with a console session: `csrf` is the session's token, `act` posts a form the way a page does."""

    csrf: str = ""
    username: str = ""

    def act(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a console form with this session's CSRF token (a plain form post, redirects not followed)."""
        return self.post(path, data={"csrf_token": self.csrf, **(data or {})}, follow_redirects=False, **kwargs)

    def hx(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST as htmx does: the HX-Request header and the CSRF token in X-CSRF-Token."""
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.post(path, data=data or {}, headers=headers, follow_redirects=False, **kwargs)


@pytest.fixture
def make_account(runtime: Runtime) -> Callable[..., Account]:
    """Create a console account (committed); with `password`, it can log in through the form."""

    def make(username: str, role: str = "responder", password: str | None = None) -> Account:
        with runtime.db.transaction() as session:
            return accounts.create(
                session,
                username=username,
                role=Role(role),
                created_by="tests",
                now=runtime.clock.now(),
                password=password,
            )

    return make


@pytest.fixture
def console_for(
    app: Any, runtime: Runtime, make_account: Callable[..., Account]
) -> Iterator[Callable[..., ConsoleClient]]:
    """A client logged in to the console as a person of `role` (named after the role unless told); None: anonymous."""
    clients: list[ConsoleClient] = []

    def make(role: str | None = "responder", username: str | None = None) -> ConsoleClient:
        client = ConsoleClient(app, raise_server_exceptions=False)
        clients.append(client)
        if role is None:
            return client
        name = username or role
        with runtime.db.transaction() as session:
            account = accounts.get(session, name) or accounts.create(
                session, username=name, role=Role(role), created_by="tests", now=runtime.clock.now()
            )
            _row, secret = browser_sessions.start(session, account, now=runtime.clock.now(), remote_addr="testclient")
        client.cookies.set("warroom_session", secret)
        client.csrf = browser_sessions.csrf_token(secret)
        client.username = name
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def console(console_for: Callable[..., ConsoleClient]) -> ConsoleClient:
    """A responder logged in to the console."""
    return console_for("responder")


# -- a real server and a real browser -------------------------------------------------------------------------


@dataclass
class Served:
    """A running `warroom serve` for the browser tests of one module."""

    url: str
    admin_password: str
    data_dir: Path
    env: dict[str, str]
    log: Path

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a `warroom` command against this server's data folder."""
        return subprocess.run(
            [sys.executable, "-m", "warroom", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    def add_account(self, username: str, role: str, password: str = PASSWORD) -> None:
        """A console account with a password, made with `warroom user set-password`."""
        self.cli("user", "set-password", username, "--role", role, "--password-stdin", stdin=password + "\n")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`warroom serve` on 127.0.0.1 and a free port with SQLite in a temporary data folder (one per module)."""
    folder = tmp_path_factory.mktemp("served")
    port = free_port()
    env = dict(os.environ)
    env.pop("WARROOM_DATABASE_URL", None)
    env.update(
        WARROOM_DATA_DIR=str(folder / "data"),
        WARROOM_PORT=str(port),
        WARROOM_HOST="127.0.0.1",
        NO_COLOR="1",
    )
    log = folder / "serve.log"
    with log.open("wb") as handle:
        process = subprocess.Popen([sys.executable, "-m", "warroom", "serve"], env=env, stdout=handle, stderr=handle)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_answering(f"{url}/health", process, 60, lambda: log.read_text(errors="replace")[-3000:])
        # stdout is a file here, not a terminal: the first-run password is in DATA_DIR/admin-password (0600).
        password = (folder / "data" / "admin-password").read_text().strip()
        assert password not in log.read_text()
        yield Served(url=url, admin_password=password, data_dir=folder / "data", env=env, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser), one per test module."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, timeout=600, check=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


def _page(browser: Any, request: pytest.FixtureRequest, **context: Any) -> Iterator[Any]:
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    # 30 s: a step takes well under a second on a quiet host; at the end of a CI run the load reached 44 and a
    # click waited more than 10 s for its button to be stable.
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        folder = ARTIFACTS / request.node.module.__name__.rsplit(".", 1)[-1]
        folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        finally:
            ctx.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context and page at 1280x800; its last state is saved as a screenshot."""
    yield from _page(browser, request, viewport={"width": 1280, "height": 800})


@pytest.fixture
def phone_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh context at a phone's 390x844 (touch, mobile); its last state is saved as a screenshot."""
    yield from _page(browser, request, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)


def screenshot(page: Any, request: pytest.FixtureRequest, step: str) -> None:
    """Save a screenshot of the page now, named after the test and `step`."""
    folder = ARTIFACTS / request.node.module.__name__.rsplit(".", 1)[-1]
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{request.node.name}-{step}")
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def log_in(page: Any, served: Served, username: str, password: str) -> None:
    """Log in through the login form and wait for the page it leads to."""
    page.goto(f"{served.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/incidents"))


def axe_check(page: Any, what: str) -> None:
    """Run axe-core on the page; fail listing each serious or critical violation (rule, impact, first targets)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    summary = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in bad]
    assert not bad, f"accessibility violations on {what}:\n" + "\n".join(summary)
