"""Everything a process shares: settings, config, clock, database, metrics and the domain hooks."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry

from warroom.clock import Clock, SystemClock
from warroom.config import ConfigFile, Settings, load_config_file
from warroom.db import Database
from warroom.incidents import timeline
from warroom.incidents.severities import SeverityTable
from warroom.incidents.timeline import TimelineHook

# Domains that react to other domains or run background work: each module has `install(runtime)`, which
# registers its timeline hooks, job kinds and engine services. Add one line per domain.
DOMAIN_MODULES: tuple[str, ...] = (
    "warroom.alerts.setup",
    "warroom.runbooks.setup",
    "warroom.monitors",
    "warroom.notify.setup",
    "warroom.oncall.setup",
    "warroom.drills.setup",
    "warroom.postmortems.setup",
    "warroom.statuspage.setup",
    "warroom.statuspage.subscriber_delivery",
    "warroom.incidents.livewrites",
)


@dataclass
class Runtime:
    """One per process (or per test): passed to the app, the CLI's server-side commands and the engine."""

    settings: Settings
    config: ConfigFile
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    timeline_hooks: list[TimelineHook] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    # Set by a running engine in this process: called after a commit that scheduled a job.
    wake_engine: Callable[[datetime], None] | None = None
    # Whether the app starts an engine in its lifespan (`warroom serve` yes, `--no-engine` and tests no).
    run_engine: bool = False

    def __post_init__(self) -> None:
        self.severities: SeverityTable = self.config.severity_table()
        self.db.session_info["runtime"] = self
        self.db.session_info["timeline_hooks"] = self.timeline_hooks
        for module_name in DOMAIN_MODULES:
            importlib.import_module(module_name).install(self)

    def add_timeline_hook(self, hook: TimelineHook, kinds: Iterable[str] | None = None, *, first: bool = False) -> None:
        """Run `hook` in the transaction of every timeline event of `kinds` (None: of every kind). Declaring the
        kinds lets high-volume kinds nobody reacts to (an alert attached) be written in bulk. `first`: before
        the hooks registered so far, whatever the order of DOMAIN_MODULES."""
        timeline.add_hook(self.db.session_info, self.timeline_hooks, hook, kinds, first=first)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        """Build the runtime the settings describe (reads warroom.yaml, opens the database)."""
        config = load_config_file(settings.config)
        db = Database(
            settings.resolved_database_url(),
            sqlite_synchronous=settings.sqlite_synchronous,
            timeouts=settings.database_timeouts(),
        )
        return cls(settings=settings, config=config, db=db, clock=clock or SystemClock())
