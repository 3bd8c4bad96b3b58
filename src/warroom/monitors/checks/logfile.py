"""`log`: follow a file like `tail -F` (rotation and truncation included), count lines matching a regex over a
window, fail over a threshold; with `group_by`, count per captured value and name the values over it.

What a check shows is counts and, with `group_by`, the captured value (cut to MAX_KEY characters); a capture
that is the whole line is never shown, so that a monitor cannot be turned into a way of reading a file. The
file must lie under `monitoring.log_folders` (checked on every open, after resolving symbolic links).

Matches are timed when the check reads them (with the injected clock), not parsed from the lines: log formats
differ too much, and the check runs every `interval`, so a match is counted at most one interval late.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import Counter, deque
from datetime import datetime, timedelta
from typing import IO

from warroom.monitors.checks import Access, Check, CheckContext, Outcome, down, span, up
from warroom.monitors.schemas import MonitorConfig

MAX_READ = 16 * 1024 * 1024  # per run; a bigger backlog is read over the next runs
MAX_LINE = 64 * 1024
TAIL_ON_DEMAND = 1024 * 1024
MAX_KEY = 64
WHOLE_LINE = "(whole line, not shown)"


class LogPathRefused(Exception):
    """The monitor's file is outside the folders log monitors may read."""


def shown_key(line: str, match: re.Match[str], group: str | int) -> str:
    """The captured value as a check may show it: never the whole line, at most MAX_KEY characters."""
    value = match.group(group) or ""
    if value and value.strip() == line.strip():
        return WHOLE_LINE
    return value if len(value) <= MAX_KEY else value[: MAX_KEY - 1] + "…"


class LogCheck(Check):
    """Keeps the open file, its inode and the per-run match counts between runs."""

    def __init__(self, cfg: MonitorConfig, *, from_start: bool = False) -> None:
        super().__init__(cfg)
        self._regex = re.compile(cfg.pattern or "")
        self._file: IO[bytes] | None = None
        self._inode: tuple[int, int] | None = None
        self._partial = b""
        self._window: deque[tuple[datetime, Counter[str]]] = deque()
        # A one-off run (`warroom monitor run`) has no history: it reads the last MB of the file instead.
        self._from_start = from_start
        self._access = Access()

    def update(self, cfg: MonitorConfig) -> None:
        """A new pattern starts the count afresh; the file position is kept."""
        if cfg.pattern != self.cfg.pattern or cfg.group_by != self.cfg.group_by:
            self._regex = re.compile(cfg.pattern or "")
            self._window.clear()
        if cfg.path != self.cfg.path:
            self.close()
        super().update(cfg)

    def close(self) -> None:
        """Close the followed file."""
        if self._file is not None:
            self._file.close()
        self._file, self._inode, self._partial = None, None, b""

    def _open(self, *, at_end: bool) -> None:
        problem = self._access.path_problem("log", self.cfg.path or "")
        if problem is not None:
            raise LogPathRefused(problem)
        handle = open(self.cfg.path or "", "rb")  # noqa: SIM115 (kept open between runs on purpose)
        stat = os.fstat(handle.fileno())
        if at_end:
            handle.seek(0, os.SEEK_END)
        elif self._from_start and stat.st_size > TAIL_ON_DEMAND:
            handle.seek(stat.st_size - TAIL_ON_DEMAND)
            handle.readline()  # skip the partial first line
        self._file, self._inode = handle, (stat.st_dev, stat.st_ino)

    def _read_lines(self) -> list[bytes]:
        """New complete lines since the last run, across a rotation."""
        if self._file is None:
            self._open(at_end=not self._from_start)
            self._from_start = False
        assert self._file is not None
        data = self._partial + self._file.read(MAX_READ)
        self._partial = b""
        try:
            stat = os.stat(self.cfg.path or "")
        except FileNotFoundError:
            stat = None  # between the rename and the new file: keep reading the old one
        if stat is not None and len(data) < MAX_READ:
            # What is left of the old file ends its last line, complete or not.
            ended = data + b"\n" if data and not data.endswith(b"\n") else data
            if (stat.st_dev, stat.st_ino) != self._inode:
                # Rotated: the old file is drained (above); the new one is read from its start.
                self._file.close()
                self._open(at_end=False)
                data = ended + self._file.read(MAX_READ)
            elif stat.st_size < self._file.tell():
                # Truncated in place (copytruncate): start again from the top.
                self._file.seek(0)
                data = ended + self._file.read(MAX_READ)
        lines = data.split(b"\n")
        self._partial = lines.pop()[-MAX_LINE:]
        return lines

    def _count(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        group = self.cfg.group_by
        for raw in self._read_lines():
            line = raw.decode("utf-8", "replace")
            match = self._regex.search(line)
            if match is None:
                continue
            key = ""
            if group is not None:
                key = shown_key(line, match, group)
            counts[key] += 1
        return counts

    async def run(self, ctx: CheckContext) -> Outcome:
        """Read what is new (in the thread pool: a big backlog must not stall the other checks), then judge."""
        now = ctx.now()
        self._access = ctx.access
        counts = await asyncio.get_running_loop().run_in_executor(None, self._count)
        self._window.append((now, counts))
        horizon = now - timedelta(seconds=self.cfg.window)
        while self._window and self._window[0][0] <= horizon:
            self._window.popleft()
        total: Counter[str] = Counter()
        for _, item in self._window:
            total.update(item)
        threshold = self.cfg.threshold
        assert threshold is not None
        window = span(self.cfg.window)
        if self.cfg.group_by is None:
            count = total[""]
            if threshold.failed(count):
                return down(f"{count} matching lines in {window} ({threshold})", count=count)
            return up(f"{count} matching lines in {window}", count=count)
        over = [(key, n) for key, n in total.most_common() if threshold.failed(n)]
        if over:
            named = ", ".join(f"{key}: {n}" for key, n in over[:5])
            more = f" and {len(over) - 5} more" if len(over) > 5 else ""
            return down(
                f"{named}{more} matching lines in {window} ({threshold})",
                groups=dict(over[:20]),
            )
        return up(f"{sum(total.values())} matching lines in {window}, none {threshold} per {self.cfg.group_by}")
