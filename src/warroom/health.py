"""Which background parts of this process keep failing: what `/ready` reports besides the database."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

# One failed batch is retried and usually works; this many failures in a row mean the part is stuck, and a
# process whose writer is stuck must leave the load balancer and page someone through its readiness check.
FAILURES_BEFORE_NOT_READY = 3


@dataclass
class _Failing:
    count: int
    error: str


class Health:
    """Parts report each attempt; a part whose last FAILURES_BEFORE_NOT_READY attempts failed is unhealthy."""

    def __init__(self, threshold: int = FAILURES_BEFORE_NOT_READY) -> None:
        self.threshold = threshold
        self._failing: dict[str, _Failing] = {}
        self._lock = threading.Lock()

    def failed(self, part: str, exc: BaseException) -> None:
        """Count one failed attempt of `part`; only the error's class is kept (messages may carry data)."""
        with self._lock:
            entry = self._failing.setdefault(part, _Failing(0, ""))
            entry.count += 1
            entry.error = exc.__class__.__name__

    def ok(self, part: str) -> None:
        """An attempt of `part` worked: it is healthy again."""
        with self._lock:
            self._failing.pop(part, None)

    def problems(self) -> list[str]:
        """One line per unhealthy part, e.g. `monitor results writer: 5 failures in a row (IntegrityError)`."""
        with self._lock:
            return [
                f"{part}: {entry.count} failures in a row ({entry.error})"
                for part, entry in sorted(self._failing.items())
                if entry.count >= self.threshold
            ]


def health_of(runtime: Any) -> Health:
    """The health board of this runtime (created once)."""
    board = runtime.extras.get("health")
    if board is None:
        board = runtime.extras.setdefault("health", Health())
    return board  # type: ignore[no-any-return]
