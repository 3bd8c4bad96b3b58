"""Monitor definitions as written in warroom.yaml and sent over the API, and what the API answers."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from warroom import configcheck
from warroom.timeparse import parse_duration

CheckType = Literal[
    "http",
    "tcp",
    "tls",
    "postgres",
    "redis",
    "sqlite",
    "disk",
    "memory",
    "load",
    "process",
    "command",
    "log",
    "heartbeat",
    "prometheus",
]
CHECK_TYPES: tuple[str, ...] = get_args(CheckType)

# Fields that belong to one or more check types; the others are common to every monitor.
TYPE_FIELDS: dict[str, frozenset[str]] = {
    "http": frozenset({"url", "method", "headers", "body", "follow_redirects", "verify_tls", "expect"}),
    "tcp": frozenset({"host", "port"}),
    "tls": frozenset({"host", "port", "server_name", "warn_days", "fail_days", "verify_tls", "ca_file"}),
    "postgres": frozenset({"url", "query", "fail_if"}),
    "redis": frozenset({"url", "info_field", "fail_if"}),
    "sqlite": frozenset({"path", "query", "fail_if"}),
    "disk": frozenset({"path", "fail_if"}),
    "memory": frozenset({"fail_if"}),
    "load": frozenset({"fail_if", "per_cpu"}),
    "process": frozenset({"process", "min_count"}),
    "command": frozenset({"command", "cwd"}),
    "log": frozenset({"path", "pattern", "window", "fail_if", "group_by"}),
    "heartbeat": frozenset({"period", "grace", "token"}),
    "prometheus": frozenset({"url", "query", "fail_if", "on_empty"}),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "http": ("url",),
    "tcp": ("host", "port"),
    "tls": ("host",),
    "postgres": ("url",),
    "redis": ("url",),
    "sqlite": ("path",),
    "disk": ("path",),
    "memory": (),
    "load": (),
    "process": ("process",),
    "command": ("command",),
    "log": ("path", "pattern"),
    "heartbeat": ("period",),
    "prometheus": ("url", "query", "fail_if"),
}
ALL_TYPE_FIELDS = frozenset().union(*TYPE_FIELDS.values())
URL_SCHEMES: dict[str, tuple[str, ...]] = {
    "http": ("http://", "https://"),
    "postgres": ("postgres://", "postgresql://"),
    "redis": ("redis://", "rediss://"),
    "prometheus": ("http://", "https://"),
}
# Defaults of `fail_if` for the checks that always compare a number.
DEFAULT_FAIL_IF = {"disk": "> 90", "memory": "> 90", "load": "> 2", "log": "> 0"}

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _seconds(value: Any) -> Any:
    """A duration (30s, 5m, 2h or a number of seconds) as float seconds."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str | int | float | timedelta):
        seconds = parse_duration(value).total_seconds()
        if seconds <= 0:
            raise ValueError(f"duration {value!r} must be more than zero")
        return seconds
    return value


Seconds = Annotated[float, BeforeValidator(_seconds)]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_THRESHOLD = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class Threshold:
    """`> 0.9`: the check fails when the measured value compares true."""

    op: str
    value: float

    def failed(self, measured: float) -> bool:
        """True when `measured` is over (or under) the threshold."""
        return _OPS[self.op](measured, self.value)

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


def parse_threshold(text: str) -> Threshold:
    """`> 0.9`, `>= 85`, `< 1`, `== 0`: raises ValueError with the accepted forms."""
    match = _THRESHOLD.match(str(text))
    if not match:
        raise ValueError(f"invalid threshold {text!r}: write an operator and a number, e.g. '> 0.9' or '>= 85'")
    return Threshold(match.group(1), float(match.group(2)))


READ_KEYWORDS = ("select", "with", "values", "table", "show")
_SQL_LEADING = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)


def query_problem(query: str) -> str | None:
    """Why a monitor's SQL query is refused, or None. Only statements that start as a read are taken: a
    read-only transaction still lets COPY ... TO PROGRAM run a command on the database host."""
    leading = _SQL_LEADING.match(query)  # always matches (everything in it is optional)
    rest = query[leading.end() :] if leading else query
    word = re.match(r"[A-Za-z]+", rest)
    if word is None or word.group(0).lower() not in READ_KEYWORDS:
        return f"the query must be one statement that reads: it starts with one of {', '.join(READ_KEYWORDS)}"
    return None


def _check_regex(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"bad regex {value!r}: {exc}") from None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Expect(_Strict):
    """What an HTTP answer must look like to count as up."""

    status: list[int] | None = Field(default=None, description="Accepted status codes (default: 200-399).")
    max_latency: Seconds | None = Field(default=None, description="Slower than this is down (e.g. 2s).")
    contains: str | None = Field(default=None, description="Text the body must contain.")
    regex: str | None = Field(default=None, description="Regex the body must match.")
    json_: dict[str, Any] | None = Field(
        default=None,
        alias="json",
        description='JSON paths and the values they must equal, e.g. {"$.status": "ok"}.',
    )

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return _check_regex(value)

    @field_validator("status")
    @classmethod
    def _status(cls, value: list[int] | None) -> list[int] | None:
        for code in value or []:
            if not 100 <= code <= 599:
                raise ValueError(f"status {code} is not an HTTP status code (100-599)")
        return value

    @field_validator("json_")
    @classmethod
    def _paths(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        from warroom.monitors.checks.jsonpath import parse_path

        for path in value or {}:
            parse_path(path)
        return value


class MonitorConfig(_Strict):
    """One monitor, in warroom.yaml or a POST body. Type-specific fields are checked by `problems()`."""

    name: str = Field(description="Unique name: letters, digits, '.', '_' or '-'.")
    service: str = Field(min_length=1, max_length=100, description="The service it watches (label on the alert).")
    type: CheckType
    description: str = ""
    interval: Seconds = Field(default=30.0, description="How often it runs (default 30s).")
    timeout: Seconds | None = Field(default=None, description="Cut the check after this (default: 10s or interval).")
    down_after: int = Field(default=1, ge=1, le=1000, description="Consecutive failures before it is down.")
    down_for: Seconds | None = Field(
        default=None,
        validation_alias=AliasChoices("for", "down_for"),
        description="Or: failing for at least this long before it is down (e.g. 5m).",
    )
    recover_after: int = Field(default=1, ge=1, le=1000, description="Consecutive successes before it resolves.")
    severity: str = Field(default="P2", description="Severity of the alert it raises (P0..P4).")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels on the alert.")
    paused: bool = False

    # http, postgres, redis, prometheus
    url: str | None = None
    # http
    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    follow_redirects: bool = False
    verify_tls: bool = True
    expect: Expect | None = None
    # tcp, tls
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    # tls
    server_name: str | None = None
    warn_days: float = 14
    fail_days: float = 3
    ca_file: str | None = None
    # postgres, sqlite, prometheus
    query: str | None = None
    fail_if: str | None = None
    # redis
    info_field: str | None = None
    # sqlite, disk, log
    path: str | None = None
    # load
    per_cpu: bool = True
    # process
    process: str | None = None
    min_count: int = Field(default=1, ge=1)
    # command
    command: str | list[str] | None = None
    cwd: str | None = None
    # log
    pattern: str | None = None
    window: Seconds = 300.0
    group_by: str | int | None = None
    # heartbeat
    period: Seconds | None = None
    grace: Seconds = 0.0
    token: str | None = Field(default=None, min_length=16, max_length=200, repr=False)
    # prometheus
    on_empty: Literal["up", "down"] = "up"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(f"invalid name {value!r}: use letters, digits, '.', '_' or '-' (at most 100)")
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return _check_regex(value)

    @field_validator("fail_if")
    @classmethod
    def _fail_if(cls, value: str | None) -> str | None:
        if value is not None:
            parse_threshold(value)
        return value

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        method = value.upper()
        if method not in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}:
            raise ValueError(f"unknown HTTP method {value!r}")
        return method

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str) -> str:
        return value.strip().upper()

    # -- derived values ---------------------------------------------------------------------------------------

    @property
    def effective_timeout(self) -> float:
        """The timeout in seconds: given, or 10 s, never more than the interval."""
        return min(self.timeout or 10.0, self.interval)

    @property
    def threshold(self) -> Threshold | None:
        """The parsed `fail_if`, or the type's default."""
        text = self.fail_if or DEFAULT_FAIL_IF.get(self.type)
        return parse_threshold(text) if text else None

    def given_fields(self) -> set[str]:
        """Type-specific fields the author set explicitly."""
        return {name for name in self.model_fields_set if name in ALL_TYPE_FIELDS}

    def spec(self) -> dict[str, Any]:
        """The definition as stored (JSON-able, by field alias, no heartbeat token)."""
        # Only what the author wrote: defaults stay defaults (and a later default change reaches old monitors).
        return self.model_dump(mode="json", by_alias=True, exclude={"token"}, exclude_unset=True) | {
            "name": self.name,
            "service": self.service,
            "type": self.type,
        }


def problems(cfg: MonitorConfig, severities: list[str] | None = None) -> list[tuple[str, str]]:
    """What is wrong with a monitor beyond the schema, as (field, reason): missing, foreign or clashing fields."""
    found: list[tuple[str, str]] = []
    allowed = TYPE_FIELDS[cfg.type]
    for name in sorted(cfg.given_fields() - allowed):
        found.append(
            (name, f"{name!r} does not apply to a {cfg.type} monitor (it takes: {', '.join(sorted(allowed))})")
        )
    for name in REQUIRED_FIELDS[cfg.type]:
        if getattr(cfg, name) in (None, "", []):
            found.append((name, f"a {cfg.type} monitor needs {name!r}"))
    schemes = URL_SCHEMES.get(cfg.type)
    if schemes and cfg.url and not cfg.url.lower().startswith(schemes):
        found.append(("url", f"a {cfg.type} monitor's url must start with {' or '.join(schemes)}"))
    if cfg.timeout is not None and cfg.timeout > cfg.interval:
        found.append(("timeout", f"timeout ({cfg.timeout:g}s) must not exceed the interval ({cfg.interval:g}s)"))
    if severities is not None and cfg.severity not in severities:
        found.append(("severity", f"unknown severity {cfg.severity!r}: expected one of {', '.join(severities)}"))
    if cfg.type == "redis" and cfg.info_field and not cfg.fail_if:
        found.append(("fail_if", "info_field needs fail_if, e.g. '> 1000'"))
    if cfg.type in ("postgres", "sqlite") and cfg.query and (refused := query_problem(cfg.query)):
        found.append(("query", refused))
    if cfg.type == "postgres" and cfg.fail_if and not cfg.query:
        found.append(("query", "fail_if compares the first value of `query`: give the query"))
    if cfg.type == "sqlite" and cfg.fail_if and not cfg.query:
        found.append(("query", "fail_if compares the first value of `query`: give the query"))
    if cfg.type == "tls" and cfg.fail_days > cfg.warn_days:
        found.append(("fail_days", "fail_days must not be more than warn_days"))
    if cfg.type == "log" and cfg.group_by is not None and cfg.pattern:
        compiled = re.compile(cfg.pattern)
        if isinstance(cfg.group_by, int):
            if not 0 < cfg.group_by <= compiled.groups:
                found.append(("group_by", f"the pattern has {compiled.groups} capture group(s), not {cfg.group_by}"))
        elif cfg.group_by not in compiled.groupindex:
            found.append(
                ("group_by", f"the pattern has no named group {cfg.group_by!r}: write (?P<{cfg.group_by}>...)")
            )
    if cfg.type == "command" and isinstance(cfg.command, list) and not cfg.command:
        found.append(("command", "the command is empty"))
    return found


class MonitoringConfig(_Strict):
    """The `monitoring:` section: retention and scheduler limits."""

    raw_retention: Seconds = Field(default=7 * 86400.0, description="How long every result is kept (default 7d).")
    rollup_retention: Seconds = Field(default=400 * 86400.0, description="Per-day rollups (default 400d).")
    minute_rollup_retention: Seconds | None = Field(
        default=None, description="Per-minute rollups (default: rollup_retention)."
    )
    concurrency: int = Field(default=1000, ge=1, le=20000, description="Checks in flight at once per engine.")
    max_delay: Seconds = Field(
        default=5.0, description="A check that cannot start within this of its due time is shed (skipped)."
    )
    log_folders: list[str] = Field(
        default_factory=list,
        description="Absolute folders `log` monitors may read files under (none: log monitors are off).",
    )

    sqlite_folders: list[str] = Field(
        default_factory=list,
        description="Absolute folders `sqlite` monitors may open files under (none: sqlite monitors are off).",
    )

    @field_validator("log_folders", "sqlite_folders")
    @classmethod
    def _absolute(cls, value: list[str]) -> list[str]:
        for folder in value:
            if not folder.startswith("/"):
                raise ValueError(f"folder {folder!r} must be an absolute path")
        return value

    @property
    def minute_retention(self) -> float:
        """Retention of minute rollups in seconds."""
        return self.minute_rollup_retention or self.rollup_retention


# -- over the API ------------------------------------------------------------------------------------------------


class MonitorCreate(MonitorConfig):
    """Create a monitor (admin only)."""


class MonitorUpdate(BaseModel):
    """Change some fields of a monitor: the given ones replace the stored ones, then the whole is re-validated."""

    model_config = ConfigDict(extra="allow")


class CheckOutcomeRead(BaseModel):
    """One check's result."""

    at: datetime
    status: str
    latency_ms: float | None
    message: str
    details: dict[str, Any] | None = None


class MonitorRead(BaseModel):
    """A monitor with its current state."""

    name: str
    service: str
    type: str
    source: str
    severity: str
    interval: float
    paused: bool
    state: str
    state_since: datetime | None
    failures: int
    successes: int
    alert_open: bool
    last_checked_at: datetime | None
    last_status: str | None
    last_message: str | None
    last_latency_ms: float | None
    last_ping_at: datetime | None
    spec: dict[str, Any]


class MonitorCreated(MonitorRead):
    """A new monitor; a heartbeat's token is shown here once (it is stored hashed)."""

    token: str | None = None


class Percentiles(BaseModel):
    """Latency percentiles over the last 24 h, in milliseconds."""

    count: int
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    max: float | None


class UptimeRead(BaseModel):
    """Share of checks that were up, by window (None when there were no checks)."""

    h24: float | None = Field(serialization_alias="24h")
    d7: float | None = Field(serialization_alias="7d")
    d30: float | None = Field(serialization_alias="30d")
    d90: float | None = Field(serialization_alias="90d")


class MonitorDetail(MonitorRead):
    """A monitor with its last results, latency percentiles and uptime."""

    results: list[CheckOutcomeRead]
    latency: Percentiles
    uptime: UptimeRead


class TokenRead(BaseModel):
    """A new heartbeat token and the URL to ping."""

    token: str
    ping_path: str


class PingRead(BaseModel):
    """Answer to a heartbeat ping."""

    ok: bool
    monitor: str
    at: datetime


# This domain's cross-checks of its sections, registered beside them (config.py composes the file from these).
configcheck.register("monitors", "warroom.monitors.configcheck:check_monitors")
