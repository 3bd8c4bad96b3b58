"""A per-client limit on subscription requests (in this process's memory: each API process counts its own)."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta


class RateLimiter:
    """At most `requests` per key within `per`: a sliding window of the times of the recent requests."""

    def __init__(self, requests: int, per: timedelta, *, max_keys: int = 100_000) -> None:
        self.requests = requests
        self.per = per
        self.max_keys = max_keys
        self._seen: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, now: datetime) -> timedelta | None:
        """Count a request of `key`; None when allowed, else how long until the next one would be."""
        with self._lock:
            times = self._seen.pop(key, None) or deque()
            while times and now - times[0] >= self.per:
                times.popleft()
            if len(times) >= self.requests:
                self._seen[key] = times
                return self.per - (now - times[0])
            times.append(now)
            self._seen[key] = times  # most recent last: the oldest keys are the first dropped
            while len(self._seen) > self.max_keys:
                self._seen.popitem(last=False)
            return None
