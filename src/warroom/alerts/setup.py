"""`install(runtime)`: the alerts domain's job kinds, metrics, key cache and intake writer."""

from __future__ import annotations

from typing import Any

from warroom.alerts import handlers, intake


def install(runtime: Any) -> None:
    """Register job kinds and create the per-runtime intake machinery."""
    handlers.install()
    intake.metrics_for(runtime)
    intake.key_cache(runtime)
    intake.writer_for(runtime)
