"""The public face's cache: rendered bodies per page version, and the HTTP validators (ETag, Last-Modified).

Every public route asks `PublicFace.current()` for the page version (one cheap read, at most once per
`recheck` seconds per process), answers 304 when the client already has that version, else serves the body
rendered for that version, rendering it once on a miss. A new version drops every body of the old one.
Memory is bounded by entry count and bytes (hostile clients can ask for many history pages or ids).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from sqlalchemy.orm import Session

from warroom import __version__
from warroom.statuspage.snapshot import PageSnapshot
from warroom.statuspage.source import SnapshotSource

CACHE_CONTROL = "public, no-cache"  # may be stored, but revalidated each time: a 304 is cheap, news is not late
MAX_ENTRIES = 512
MAX_BYTES = 64 * 1024 * 1024


GZIP_FROM = 1024  # bytes: smaller bodies are sent as they are


@dataclass(frozen=True)
class Rendered:
    """One body ready to send (and its gzip form, for clients that accept it), with its validators."""

    body: bytes
    media_type: str
    etag: str
    last_modified: str
    gzipped: bytes | None = None

    @property
    def size(self) -> int:
        """Bytes held."""
        return len(self.body) + len(self.gzipped or b"")

    def for_client(self, accept_encoding: str | None) -> tuple[bytes, bool]:
        """The body to send and whether it is the gzip form."""
        if self.gzipped is not None and accepts_gzip(accept_encoding):
            return self.gzipped, True
        return self.body, False


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip (a `q=0` refuses it)."""
    if not accept_encoding:
        return False
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


@dataclass
class _State:
    version: str | None = None
    checked_at: float = float("-inf")
    snapshot: PageSnapshot | None = None
    entries: OrderedDict[str, Rendered] = field(default_factory=OrderedDict)
    size: int = 0


class PublicFace:
    """One per process: the source, the current version and the bodies rendered for it."""

    def __init__(
        self,
        source: SnapshotSource,
        sessions: Callable[[], Session],
        *,
        clock: Callable[[], datetime],
        recheck: float = 1.0,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.sessions = sessions
        self.clock = clock
        self.recheck = recheck
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.monotonic = monotonic
        self.renders = 0  # bodies rendered (misses), for tests and the benchmark
        self._state = _State()
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()

    def fresh_version(self) -> str | None:
        """The version last read, if it was read within `recheck` seconds (no database needed), else None."""
        state = self._state
        if state.version is not None and self.monotonic() - state.checked_at < self.recheck:
            return state.version
        return None

    def read_version(self) -> str:
        """Read the page version from the database (and drop the old version's bodies when it changed)."""
        with self.sessions() as session:
            version = self._version(session)
        self._adopt(version, None)
        return version

    def _version(self, session: Session) -> str:
        # The day is part of it: the uptime bars gain a day at midnight (UTC) without any other change.
        return f"{self.source.page_version(session)}@{self.clock().date().isoformat()}"

    def _adopt(self, version: str, snapshot: PageSnapshot | None) -> None:
        with self._lock:
            state = self._state
            if version != state.version:
                self._state = _State(version=version, checked_at=self.monotonic(), snapshot=snapshot)
            else:
                state.checked_at = self.monotonic()
                if snapshot is not None and state.snapshot is None:
                    state.snapshot = snapshot

    @staticmethod
    @functools.lru_cache(maxsize=64)
    def etag(version: str) -> str:
        """The strong ETag of every body of `version` (the package version is in it: new code, new bodies)."""
        digest = hashlib.sha256(f"{version}|{__version__}".encode()).hexdigest()[:20]
        return f'"{digest}"'

    def cached(self, version: str, key: str) -> Rendered | None:
        """The body of `key` rendered for `version`, if there is one."""
        state = self._state
        if state.version != version:
            return None
        hit = state.entries.get(key)
        if hit is not None:
            with self._lock:
                if key in state.entries:
                    state.entries.move_to_end(key)
        return hit

    def render(self, key: str, build: Callable[[Session, PageSnapshot, datetime], tuple[bytes, str]]) -> Rendered:
        """Render `key` for the current version (read in the same session as what is rendered) and keep it.
        `build` gets the session, the snapshot and now, and returns (body, media type); it may raise NotFound."""
        # One render at a time: after a change, a crowd of requests misses at once, and each would otherwise
        # build the same snapshot (most of a second for a big page) in its own thread.
        with self._render_lock:
            with self.sessions() as session:
                version = self._version(session)
                again = self.cached(version, key)
                if again is not None:
                    return again
                state = self._state
                snapshot = state.snapshot if state.version == version else None
                now = self.clock()
                if snapshot is None:
                    snapshot = self.source.build_snapshot(session, now=now)
                self._adopt(version, snapshot)
                body, media_type = build(session, snapshot, now)
            self.renders += 1
            stamp = snapshot.updated_at.astimezone(UTC).replace(microsecond=0)
            gzipped = gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= GZIP_FROM else None
            rendered = Rendered(body, media_type, self.etag(version), format_datetime(stamp, usegmt=True), gzipped)
            self._keep(version, key, rendered)
        return rendered

    def _keep(self, version: str, key: str, rendered: Rendered) -> None:
        if rendered.size > self.max_bytes:
            return
        with self._lock:
            state = self._state
            if state.version != version:
                return
            old = state.entries.pop(key, None)
            if old is not None:
                state.size -= old.size
            state.entries[key] = rendered
            state.size += rendered.size
            while len(state.entries) > self.max_entries or state.size > self.max_bytes:
                _, dropped = state.entries.popitem(last=False)
                state.size -= dropped.size

    def stats(self) -> tuple[int, int]:
        """(entries, bytes) held for the current version."""
        return len(self._state.entries), self._state.size


def not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str, last_modified: str) -> bool:
    """Whether the client's copy is current: If-None-Match wins when sent (RFC 9110 13.2.2)."""
    if if_none_match is not None:
        tags = [t.strip() for t in if_none_match.split(",")]
        return "*" in tags or etag in tags or f"W/{etag}" in tags
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
            modified = parsedate_to_datetime(last_modified)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            return False
        return modified <= since
    return False
