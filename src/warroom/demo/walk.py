"""The narrated walk: start warroom on a fresh data folder, break the demo service and follow the loop
(check → alert → incident → page → acknowledge → runbook → recovery → resolve → durations → INCIDENTS.md)
through the real HTTP API of a real `warroom serve`."""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from warroom.demo.files import MONITOR, PERSON, RUNBOOK, SERVICE, Layout, write_all
from warroom.demo.inbox import Inbox
from warroom.demo.service import BreakableService

T = TypeVar("T")

STEPS = (
    "warroom is running",
    "The service is healthy",
    "The service breaks",
    "The check fails",
    "An alert fires",
    "An incident opens",
    "Dana is paged",
    "Dana acknowledges through the page's link",
    "The runbook restarts the service",
    "The check recovers",
    "Dana resolves the incident",
    "Durations against the targets",
    "INCIDENTS.md",
)


class DemoError(Exception):
    """The walk cannot go on; the message says what to look at."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_folder(root: Path) -> None:
    """Refuse a data folder that already holds something: every run starts from an empty database."""
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DemoError(
            f"{root} is not empty (a previous demo?): remove it (rm -r {root}) or pass --data-dir with a new folder"
        )


@dataclass
class Walk:
    """One run of the demo."""

    layout: Layout
    interactive: bool
    console: Console
    wait_limit: float = 30.0
    pause: Callable[[], object] = field(default=input)
    server: subprocess.Popen[bytes] | None = None
    service: BreakableService | None = None
    inbox: Inbox | None = None
    url: str = ""
    number: int = 0
    _step: int = 0
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    # -- narration -------------------------------------------------------------------------------------------

    def step(self, what: str) -> None:
        """Announce the next step (after a pause in interactive mode)."""
        if self.interactive and self._step:
            self.console.print("[dim]Press Enter for the next step (Ctrl-C stops the demo).[/dim]", end="")
            try:
                self.pause()
            except EOFError:
                # No terminal (stdin closed or /dev/null): Enter can never come, so go on without pausing.
                self.interactive = False
                self.console.print("\n[dim]No more input: going on without pausing.[/dim]")
        self._step += 1
        self.console.rule(f"[bold]Step {self._step}/{len(STEPS)}: {escape(what)}", align="left")

    def say(self, text: str) -> None:
        """A line of narration."""
        self.console.print(text, highlight=False)

    def quote(self, text: str, title: str = "") -> None:
        """A message or an output, verbatim and whole (links in a page must not be cut at the edge)."""
        if title:
            self.console.print(f"  ┌ [bold]{escape(title)}[/bold]", highlight=False)
        for line in text.splitlines():
            self.console.print(f"  │ {escape(line)}", highlight=False, soft_wrap=True)

    def look(self, *where: str) -> None:
        """Where a person can see what just happened."""
        for item in where:
            self.console.print(f"  [cyan]look:[/cyan] {escape(item)}", highlight=False)

    # -- waiting on the real thing ---------------------------------------------------------------------------

    def until(self, what: str, probe: Callable[[], T | None]) -> T:
        """Poll `probe` until it returns something; DemoError naming `what` after the wait limit."""
        deadline = time.monotonic() + self.wait_limit
        while True:
            self._check_server()
            value = probe()
            if value is not None and value is not False:
                return value
            if time.monotonic() > deadline:
                raise DemoError(f"{what} did not happen within {self.wait_limit:.0f} s: see {self.layout.server_log}")
            time.sleep(0.1)

    def _check_server(self) -> None:
        if self.server is not None and self.server.poll() is not None:
            raise DemoError(f"warroom serve exited with {self.server.returncode}: see {self.layout.server_log}")

    # -- the parts -------------------------------------------------------------------------------------------

    @contextmanager
    def running(self) -> Iterator[Walk]:
        """Start the service, the inbox and `warroom serve`; stop them on the way out, whatever happens."""
        try:
            self._start()
            yield self
        finally:
            for cleanup in reversed(self._cleanups):
                try:
                    cleanup()
                except Exception:  # noqa: S112 - stopping must go on for the other parts
                    continue

    def _start(self) -> None:
        root = self.layout.root
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)  # it will hold the admin token and the database
        self.service = BreakableService(self.layout.service).start()
        self._cleanups.append(self.service.stop)
        self.inbox = Inbox(self.layout.inbox).start()
        self._cleanups.append(self.inbox.stop)
        today = datetime.now(UTC).date()
        write_all(self.layout, health_url=self.service.url, contact=self.inbox.contact(PERSON), today=today)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        # The embedded default whatever this shell exports: no WARROOM_DATABASE_URL, URL or token leaks in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
        env.update({"WARROOM_CONFIG": str(self.layout.config), "WARROOM_LOG_LEVEL": "warning"})
        log = self.layout.server_log.open("ab")
        self._cleanups.append(log.close)
        # A session of its own: Ctrl-C reaches the demo, which stops the server in order (and its log does
        # not interleave with the narration).
        self.server = subprocess.Popen(
            [sys.executable, "-m", "warroom", "serve", "--port", str(port), "--data-dir", str(root)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._cleanups.append(self._stop_server)

    def _stop_server(self) -> None:
        if self.server is None or self.server.poll() is not None:
            return
        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()

    def client(self, token: str) -> httpx.Client:
        """An API client acting with `token`."""
        client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        self._cleanups.append(client.close)
        return client

    # -- the loop --------------------------------------------------------------------------------------------

    def run(self) -> None:
        """Walk the whole loop, narrating each step."""
        assert self.service is not None and self.inbox is not None
        root = self.layout.root
        self.step(STEPS[0])
        self.until("warroom answering /ready", self._ready)
        admin_token = self.until("the admin token", self._admin_token)
        admin = self.client(admin_token)
        # Dana acts with a token of her own, so the timeline and the audit log name her.
        created = admin.post("/api/v1/tokens", json={"name": PERSON, "role": "responder"})
        created.raise_for_status()
        dana = self.client(str(created.json()["token"]))
        self.say(f"warroom serves {self.url} from the data folder [bold]{escape(str(root))}[/bold].")
        self.say(
            f"It was configured by {escape(str(self.layout.config))}: the service {SERVICE}, an HTTP monitor on it "
            f"every second, a route, {PERSON} on call with her pages going to a local inbox, and the runbook "
            f"{RUNBOOK}."
        )
        self.look(
            f"{self.url}/docs (the API)",
            f"export WARROOM_URL={self.url} WARROOM_TOKEN=$(cat {self.layout.token})   # then any warroom command",
            f"{self.layout.server_log} (the server's log)",
        )

        self.step(STEPS[1])
        self.until("the monitor's first successful check", lambda: self._monitor(admin)["state"] == "up")
        self.say(f"The monitor {MONITOR} checks {self.service.url} every second and finds it up.")
        self.look(f"curl {self.service.url}", f"warroom monitor show {MONITOR}")

        self.step(STEPS[2])
        self.service.break_("demo: the service is stuck on a bad cache entry")
        self.say(f"The demo wrote {self.service.fault}; while it exists, /health answers 503.")
        self.look(f"curl -i {self.service.url}", f"cat {self.service.fault}")

        self.step(STEPS[3])
        monitor = self.until("the check failing", lambda: self._down(admin))
        last = (monitor.get("results") or [{}])[0]
        self.say(
            f"The monitor's next check failed and {MONITOR} is [red]down[/red]: {escape(str(last.get('message', '')))}"
        )
        self.look(f"warroom monitor show {MONITOR}")

        self.step(STEPS[4])
        alert = self.until("an alert firing", lambda: self._alert(admin, "firing"))
        self.say(
            f'A monitor going down fires an alert through the same pipeline as webhooks: "{escape(alert["summary"])}" '
            f"({alert['severity']}), routed by the route {alert['route']}."
        )
        self.look("warroom alert list", f"{self.url}/api/v1/alerts")

        self.step(STEPS[5])
        self.number = int(
            self.until("an incident opening", lambda: self._alert(admin, "firing", with_incident=True))["incident"]
        )
        incident = self._incident(admin)
        self.say(
            f"The route grouped the alert into incident [bold]#{self.number}[/bold] [{incident['severity']}] "
            f'"{escape(incident["title"])}", status {incident["status"]}.'
        )
        self.say(
            f"The route also started the runbook {RUNBOOK}: its diagnosis step, marked for automatic runs, runs now."
        )
        self.look(f"warroom incident show {self.number}", f"{self.url}/api/v1/incidents/{self.number}")

        self.step(STEPS[6])
        try:
            (page,) = self.inbox.wait(1, self.wait_limit)
        except TimeoutError as exc:
            raise DemoError(f"{exc}: see {self.layout.server_log} and warroom incident pages {self.number}") from None
        self.say(f"The policy paged whoever is on call in the schedule demo: {PERSON}. Her page, as the inbox got it:")
        self.quote(page.body, title=page.title)
        self.look(f"{self.layout.inbox}/ (every page received)", f"warroom incident pages {self.number}")

        self.step(STEPS[7])
        link = page.link("acknowledge")
        if link is None:
            raise DemoError(f"the page has no Acknowledge link: see {self.layout.inbox}")
        confirmation = httpx.get(link, timeout=10)
        acted = httpx.post(link, timeout=10)
        if confirmation.status_code != 200 or acted.status_code >= 400:
            raise DemoError(f"the acknowledge link answered {confirmation.status_code} / {acted.status_code}")
        incident = self._incident(admin)
        self.say(
            f"Opening the link shows a confirmation page; confirming it (a POST) acknowledged the incident as "
            f"{PERSON}: status [bold]{incident['status']}[/bold]. Escalation stops."
        )
        self.look(f"warroom incident show {self.number}   # notification_acknowledged on the timeline")

        self.step(STEPS[8])
        self._run_runbook(dana)

        self.step(STEPS[9])
        self.until("the check recovering", lambda: self._monitor(admin)["state"] == "up")
        self.until("the alert resolving", lambda: self._alert(admin, "resolved"))
        incident = self._incident(admin)
        # A person acknowledged it, so warroom does not resolve it by itself (docs/alerts.md, auto-resolve).
        self.say(
            f"The next check passed: {MONITOR} is [green]up[/green] and its alert resolved (an "
            f"alert_resolved event on the timeline). The incident stays {incident['status']}: a person "
            f"acknowledged it, so a person resolves it."
        )
        self.look(f"curl {self.service.url}", f"warroom monitor show {MONITOR}")

        self.step(STEPS[10])
        resolved = dana.post(
            f"/api/v1/incidents/{self.number}/resolve",
            json={"message": "Restarted by the runbook; /health answers 200 again"},
        )
        resolved.raise_for_status()
        self.say(f"{PERSON} resolved incident #{self.number}: status [bold]{resolved.json()['status']}[/bold].")
        self.look(f'warroom incident resolve {self.number} --message "..."   # the same from the CLI')

        self.step(STEPS[11])
        detail = self._incident(admin)
        self.console.print(durations_table(detail))
        self.say(
            "Durations are read off the timeline, never typed in; each is met or missed against the severity's target."
        )
        self.look(f"warroom incident show {self.number}")

        self.step(STEPS[12])
        export = admin.get("/api/v1/export/incidents", params={"format": "markdown"})
        export.raise_for_status()
        self.layout.incidents_md.write_text(export.text, encoding="utf-8")
        self.say(f"The export teams keep by hand today, with the whole timeline: {self.layout.incidents_md}")
        self.look(f"less {self.layout.incidents_md}", "warroom export incidents --format markdown > INCIDENTS.md")

    def _run_runbook(self, dana: httpx.Client) -> None:
        runs = dana.get(f"/api/v1/incidents/{self.number}/runbook-runs").json()
        if runs:
            run = self._get_run(dana, int(runs[0]["id"]))
        else:  # no automatic run (e.g. the route's runbook was refused): Dana starts one
            started = dana.post(f"/api/v1/incidents/{self.number}/runbook-runs", json={"runbook": RUNBOOK})
            started.raise_for_status()
            run = started.json()
        for step in run["steps"]:
            if step["state"] == "succeeded" and step["role"] == "diagnosis":
                self.say(f"Diagnosis (ran by itself when the incident opened): [bold]{escape(step['command'])}[/bold]")
                self.quote(step["output"].rstrip() or "(no output)")
        restart = next(s for s in run["steps"] if s["kind"] == "command" and s["role"] == "resolution")
        self.say(
            f"{PERSON} runs the resolution step: [bold]{escape(restart['command'])}[/bold] "
            f"({escape(restart['description'] or restart['title'])})."
        )
        for step in (restart, *[s for s in run["steps"] if s["id"] in run["verify_steps"]]):
            queued = dana.post(
                f"/api/v1/incidents/{self.number}/runbook-runs/{run['id']}/steps/{step['id']}/run", json={}
            )
            if queued.status_code != 202:
                raise DemoError(f"running step {step['id']} answered {queued.status_code}: {queued.text}")
            done = self.until(
                f"the step {step['command']!r} finishing",
                functools.partial(self._finished_step, dana, int(run["id"]), str(step["id"])),
            )
            self.say(
                f"  $ {escape(done['command'])}  → exit {done['exit_code']} in {done['duration']:.2f} s"
                + (f"\n{escape(done['output'].rstrip())}" if done["output"].strip() else "")
            )
            if done["state"] != "succeeded":
                raise DemoError(f"the runbook step {done['command']!r} failed: see warroom incident show {self.number}")
        finished = dana.post(
            f"/api/v1/incidents/{self.number}/runbook-runs/{run['id']}/finish", json={"comment": "service restarted"}
        )
        outcome = finished.json().get("outcome") if finished.status_code == 200 else None
        self.say(
            "The engine ran each command from the runbook file on disk and kept its output on the timeline"
            + (f"; the run's outcome: [bold]{outcome}[/bold]." if outcome else ".")
        )
        self.look("warroom runbook stats", f"{self.url}/api/v1/incidents/{self.number}/runbook-runs/{run['id']}")

    # -- reading the API -------------------------------------------------------------------------------------

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _admin_token(self) -> str | None:
        try:
            return self.layout.token.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def _monitor(self, api: httpx.Client) -> dict[str, Any]:
        answer = api.get(f"/api/v1/monitors/{MONITOR}", params={"limit": 1})
        return answer.json() if answer.status_code == 200 else {"state": "unknown"}

    def _down(self, api: httpx.Client) -> dict[str, Any] | None:
        monitor = self._monitor(api)
        return monitor if monitor["state"] == "down" else None

    def _alert(self, api: httpx.Client, status: str, *, with_incident: bool = False) -> dict[str, Any] | None:
        items = api.get("/api/v1/alerts", params={"service": SERVICE, "status": status}).json()["items"]
        found = [a for a in items if not with_incident or a["incident"] is not None]
        return found[0] if found else None

    def _incident(self, api: httpx.Client) -> dict[str, Any]:
        answer = api.get(f"/api/v1/incidents/{self.number}")
        answer.raise_for_status()
        return dict(answer.json())

    def _get_run(self, api: httpx.Client, run_id: int) -> dict[str, Any]:
        answer = api.get(f"/api/v1/incidents/{self.number}/runbook-runs/{run_id}")
        answer.raise_for_status()
        return dict(answer.json())

    def _finished_step(self, api: httpx.Client, run_id: int, step_id: str) -> dict[str, Any] | None:
        step = next(s for s in self._get_run(api, run_id)["steps"] if s["id"] == step_id)
        return step if step["state"] in ("succeeded", "failed") else None


def durations_table(detail: dict[str, Any]) -> Table:
    """The incident's durations against its severity's targets."""
    table = Table(title=f"Incident #{detail['number']} [{detail['severity']}]", title_justify="left")
    for column in ("duration", "took", "target", "state"):
        table.add_column(column)
    for measure in detail["durations"]:
        took = "-" if measure["seconds"] is None else f"{measure['seconds']:.1f} s"
        style = {"met": "green", "missed": "red"}.get(measure["state"], "")
        table.add_row(
            measure["name"],
            took,
            _human(measure["target_seconds"]),
            f"[{style}]{measure['state']}[/]" if style else measure["state"],
        )
    return table


def _human(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes / 60:g} h" if minutes >= 60 else f"{minutes:g} min"
