"""Wiring the notify domain into a runtime."""

from __future__ import annotations

import threading
from typing import Any

from warroom.engine import worker
from warroom.notify import handlers
from warroom.notify.metrics import metrics_for


class AppriseWarmup:
    """Loads Apprise's plugins when an engine starts: the first send otherwise pays ~0.4 s for it,
    and that first send is an incident's first page."""

    def __init__(self, _runtime: Any) -> None:
        self._thread = threading.Thread(target=self._warm, name="warroom-apprise-warmup", daemon=True)

    @staticmethod
    def _warm() -> None:
        import apprise

        for url in ("json://localhost/warmup", "mailto://localhost?from=a@example.test", "ntfy://localhost/warmup"):
            apprise.Apprise.instantiate(url, suppress_exceptions=True)

    def start(self) -> None:
        """Warm up in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Nothing to stop."""


def install(runtime: Any) -> None:
    """Register the delivery, digest and reminder jobs, the notification metrics and the Apprise warm-up."""
    handlers.register()
    metrics_for(runtime)
    worker.metrics_for(runtime)
    if AppriseWarmup not in worker.BACKGROUND_SERVICES:
        worker.BACKGROUND_SERVICES.append(AppriseWarmup)
