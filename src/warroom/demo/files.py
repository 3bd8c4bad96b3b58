"""What the demo writes into its data folder: warroom.yaml, its runbook folder and the service's folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

MONITOR = "demo-web"
SERVICE = "demo-web"
PERSON = "dana"
RUNBOOK = "demo-web-down"


@dataclass(frozen=True)
class Layout:
    """Where things live in the demo's data folder."""

    root: Path

    @property
    def config(self) -> Path:
        """The generated warroom.yaml."""
        return self.root / "warroom.yaml"

    @property
    def runbooks(self) -> Path:
        """The runbook folder the config names."""
        return self.root / "runbooks"

    @property
    def service(self) -> Path:
        """The demo service's folder (its fault file), where runbook steps run."""
        return self.root / "service"

    @property
    def inbox(self) -> Path:
        """Pages received, one file each."""
        return self.root / "inbox"

    @property
    def server_log(self) -> Path:
        """The `warroom serve` log."""
        return self.root / "server.log"

    @property
    def token(self) -> Path:
        """The admin token `warroom serve` writes on first start."""
        return self.root / "admin-token"

    @property
    def incidents_md(self) -> Path:
        """The export the walk ends with."""
        return self.root / "INCIDENTS.md"


def config_text(layout: Layout, *, health_url: str, contact: str, today: date) -> str:
    """warroom.yaml for the demo: the service, its monitor, a route, a person on call, a policy, runbooks."""
    # The monitor checks every second and goes down on the first failure so the loop takes seconds;
    # a real monitor would use 30 s and down_after: 3.
    return f"""# Written by `warroom demo`. Start warroom on this folder again with:
#   WARROOM_CONFIG={layout.config} warroom serve --data-dir {layout.root}
services:
  - {{name: {SERVICE}, description: "The demo's breakable web service"}}

monitors:
  - name: {MONITOR}
    service: {SERVICE}
    type: http
    url: {health_url}
    interval: 1s
    timeout: 1s
    expect: {{status: [200]}}
    severity: P2

routes:
  - name: {SERVICE}
    match: ['service="{SERVICE}"']
    group_by: [service]
    policy: demo
    runbook: {RUNBOOK}
    auto_runbook: true

users:
  - id: {PERSON}
    name: Dana Demo
    timezone: UTC
    contacts: ["{contact}"]

schedules:
  - id: demo
    timezone: UTC
    layers:
      - rotation: {{participants: [{PERSON}], shift: 1d, handoff: "00:00", start: {today - timedelta(days=7)}}}

policies:
  - id: demo
    levels:
      - {{notify: ["schedule:demo"], escalate_after: 10m}}

runbooks:
  folders: [{layout.runbooks}]
  workdir: {layout.service}
  default_timeout: 30s
"""


def runbook_text() -> str:
    """The demo's runbook, shipped with warroom."""
    return resources.files("warroom.demo").joinpath("runbooks", f"{RUNBOOK}.md").read_text(encoding="utf-8")


def write_all(layout: Layout, *, health_url: str, contact: str, today: date) -> None:
    """Write warroom.yaml and the runbook into the (new) data folder."""
    layout.runbooks.mkdir(parents=True, exist_ok=True)
    layout.service.mkdir(parents=True, exist_ok=True)
    (layout.runbooks / f"{RUNBOOK}.md").write_text(runbook_text(), encoding="utf-8")
    layout.config.write_text(config_text(layout, health_url=health_url, contact=contact, today=today), "utf-8")
