"""Check types: each is an object built from a MonitorConfig whose `run()` is a coroutine giving an Outcome.

`execute()` wraps every run: the timeout is counted from when the check actually started (never from its due
time), an exception becomes a failure with its message, and failures caused on our side (no free file
descriptors, a late event loop) are marked so that the scheduler does not report the target down for them.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warroom.monitors.schemas import MonitorConfig

if TYPE_CHECKING:
    import aiohttp

UP, WARN, DOWN = "up", "warn", "down"
MAX_MESSAGE = 2000

# Errors that say "this machine is out of something", not "the target is down".
LOCAL_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.EADDRNOTAVAIL, errno.ENOBUFS, errno.ENOMEM})


@dataclass
class Outcome:
    """The result of one check."""

    status: str
    message: str
    latency_ms: float | None = None
    details: dict[str, Any] | None = None
    # Failed on a time limit (timeout, max latency): inconclusive when the event loop itself was late.
    timing: bool = False
    # Failed because of this machine (out of file descriptors...): never counted against the target.
    local: bool = False

    @property
    def ok(self) -> bool:
        """Up or warn."""
        return self.status != DOWN

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the API."""
        return {"status": self.status, "message": self.message, "latency_ms": self.latency_ms, "details": self.details}


def up(message: str, **details: Any) -> Outcome:
    """A passing outcome."""
    return Outcome(UP, message, details=details or None)


def down(message: str, **details: Any) -> Outcome:
    """A failing outcome."""
    return Outcome(DOWN, message, details=details or None)


@dataclass(frozen=True)
class Access:
    """What checks may touch on this host. A monitor's definition can come from an admin over the API, so what
    it reads or runs here is bounded by the operator's settings, not by the definition.

    The default allows nothing: a caller that forgets to pass the operator's choice fails closed.
    """

    # Folders (absolute) a `log` monitor may read files under: `monitoring.log_folders`.
    log_folders: tuple[Path, ...] = ()
    # Folders (absolute) a `sqlite` monitor may open databases under: `monitoring.sqlite_folders`.
    sqlite_folders: tuple[Path, ...] = ()
    # Whether `command` monitors may run programs: WARROOM_ALLOW_EXEC.
    allow_exec: bool = False

    def path_problem(self, kind: str, path: str) -> str | None:
        """Why a monitor of type `kind` may not open `path` (symbolic links followed), or None when it may."""
        folders = {"log": self.log_folders, "sqlite": self.sqlite_folders}.get(kind, ())
        return path_problem(kind, path, folders)


# The setting that lists the folders each file-reading check type may open.
FOLDER_SETTINGS = {"log": "log_folders", "sqlite": "sqlite_folders"}


def path_problem(kind: str, path: str, folders: Sequence[Path]) -> str | None:
    """Why a `kind` monitor may not open `path`: not under one of `folders` once symbolic links are resolved."""
    setting = f"monitoring.{FOLDER_SETTINGS[kind]}"
    if not folders:
        return f"{kind} monitors are off: list the folders they may read in {setting} in warroom.yaml"
    # realpath: a link inside an allowed folder that points at /etc/shadow must not count as inside.
    real = Path(os.path.realpath(path))
    for folder in folders:
        if real.is_relative_to(Path(os.path.realpath(folder))):
            return None
    allowed = ", ".join(str(f) for f in folders)
    return f"{path} is not under a folder of {setting} ({allowed})"


def config_path_problem(cfg: MonitorConfig, options: Any) -> str | None:
    """For a file-reading monitor, why the operator's `monitoring` options do not let it open its path."""
    if cfg.type not in FOLDER_SETTINGS or not cfg.path:
        return None
    folders = [Path(f) for f in getattr(options, FOLDER_SETTINGS[cfg.type])]
    return path_problem(cfg.type, cfg.path, folders)


class CheckContext:
    """What checks share in one event loop: the clock, one HTTP client session, and what they may access."""

    def __init__(
        self, now: Callable[[], datetime], *, user_agent: str = "warroom-monitor", access: Access | None = None
    ) -> None:
        self.now = now
        self.user_agent = user_agent
        self.access = access or Access()
        self._http: aiohttp.ClientSession | None = None

    def http(self) -> aiohttp.ClientSession:
        """The shared aiohttp session (created on first use, inside the running loop)."""
        if self._http is None or self._http.closed:
            import aiohttp

            # A new connection per check (force_close), like a user arriving, and no per-host limit: the
            # scheduler bounds concurrency itself. The timeout is applied around the whole check by execute().
            connector = aiohttp.TCPConnector(limit=0, force_close=True, ttl_dns_cache=60)
            self._http = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self.user_agent},
            )
        return self._http

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._http is not None and not self._http.closed:
            await self._http.close()


class Check(ABC):
    """One kind of check, configured for one monitor. A check may keep state between runs (log offsets)."""

    def __init__(self, cfg: MonitorConfig) -> None:
        self.cfg = cfg

    @abstractmethod
    async def run(self, ctx: CheckContext) -> Outcome:
        """Run once; raise or return a DOWN outcome when the target is unhealthy."""

    def update(self, cfg: MonitorConfig) -> None:
        """Take a changed definition (state such as a log offset may be kept)."""
        self.cfg = cfg


def _os_errno(exc: BaseException) -> int | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "errno", None)
        if isinstance(code, int):
            return code
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, OSError) and os_error.errno is not None:
            return os_error.errno
        current = current.__cause__ or current.__context__
    return None


def describe(exc: BaseException) -> str:
    """`ConnectionRefusedError: [Errno 111] Connect call failed ...` in one line."""
    text = str(exc).strip() or repr(exc)
    return f"{exc.__class__.__name__}: {text}".replace("\n", " ")[:MAX_MESSAGE]


async def execute(check: Check, ctx: CheckContext, timeout: float | None = None) -> Outcome:
    """Run `check` with its timeout counted from now; never raises (except cancellation)."""
    limit = timeout if timeout is not None else check.cfg.effective_timeout
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit):
            outcome = await check.run(ctx)
    except TimeoutError:
        outcome = Outcome(DOWN, f"timed out after {limit:g}s", timing=True)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a check that raises is a failure with its message, never a crash
        code = _os_errno(exc)
        outcome = Outcome(DOWN, describe(exc), local=code in LOCAL_ERRNOS)
    if outcome.latency_ms is None:
        outcome.latency_ms = round((time.perf_counter() - started) * 1000, 3)
    if len(outcome.message) > MAX_MESSAGE:
        outcome.message = outcome.message[: MAX_MESSAGE - 1] + "…"
    return outcome


def span(seconds: float) -> str:
    """A configured duration as written: 5m, 1h, 1d, 90s."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def build(cfg: MonitorConfig) -> Check:
    """The check object for a monitor definition."""
    from warroom.monitors.checks import datastores, heartbeat, host, http, logfile, net, prometheus

    kinds: dict[str, type[Check]] = {
        "http": http.HttpCheck,
        "tcp": net.TcpCheck,
        "tls": net.TlsCheck,
        "postgres": datastores.PostgresCheck,
        "redis": datastores.RedisCheck,
        "sqlite": datastores.SqliteCheck,
        "disk": host.DiskCheck,
        "memory": host.MemoryCheck,
        "load": host.LoadCheck,
        "process": host.ProcessCheck,
        "command": host.CommandCheck,
        "log": logfile.LogCheck,
        "heartbeat": heartbeat.HeartbeatCheck,
        "prometheus": prometheus.PrometheusCheck,
    }
    return kinds[cfg.type](cfg)


def compare(cfg: MonitorConfig, value: float, what: str) -> Outcome:
    """Up unless `value` passes the monitor's `fail_if` threshold; the message names both."""
    threshold = cfg.threshold
    if threshold is None:
        return up(f"{what} = {value:g}", value=value)
    if threshold.failed(value):
        return down(f"{what} = {value:g} ({threshold})", value=value)
    return up(f"{what} = {value:g}", value=value)
