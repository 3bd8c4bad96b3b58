"""Wiring the notify domain into a runtime."""

from __future__ import annotations

from typing import Any

from warroom.engine.worker import metrics_for as engine_metrics
from warroom.notify import handlers
from warroom.notify.metrics import metrics_for


def install(runtime: Any) -> None:
    """Register the delivery, digest and reminder jobs and the notification metrics."""
    handlers.register()
    metrics_for(runtime)
    engine_metrics(runtime)
