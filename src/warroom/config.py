"""Settings from the environment (WARROOM_*) and the declarative config file (warroom.yaml)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from warroom import yamlerrors

# The file is composed of the domains' sections (this is the one place that names them, as runtime.py names
# their setup modules). Each domain registers its checks beside its sections (configcheck.register), so
# check_config_text below runs every domain's checks without naming one.
from warroom.alerts.config import InhibitRuleConfig, IntegrationConfig, RouteConfig
from warroom.auth.oidc_config import OidcConfig
from warroom.configcheck import ConfigError as ConfigError
from warroom.configcheck import ConfigProblem as ConfigProblem
from warroom.configcheck import line_of, run
from warroom.db import DatabaseTimeouts
from warroom.drills.config import ScheduledDrill
from warroom.incidents.severities import DEFAULT_SEVERITIES, Severity, SeverityTable
from warroom.logs import FORMATS, LEVELS
from warroom.monitors.schemas import MonitorConfig, MonitoringConfig
from warroom.oncall.config_models import NotificationsConfig, PolicyConfig, ScheduleConfig, TeamConfig, UserConfig
from warroom.postmortems.config import PostmortemsConfig
from warroom.runbooks.config import RunbooksConfig
from warroom.statuspage.config import StatusPageSettings
from warroom.timeparse import parse_duration


class Settings(BaseSettings):
    """Process settings. Every field can be set as WARROOM_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="WARROOM_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Folder for the SQLite database and the admin token.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in data_dir when unset.")
    config: Path | None = Field(default=None, description="Path to warroom.yaml.")
    host: str = Field(default="127.0.0.1", description="Address `warroom serve` listens on.")
    port: int = Field(default=8080, description="Port `warroom serve` listens on.")
    workers: int = Field(default=1, ge=1, description="API processes `warroom serve` runs.")
    log_level: str = Field(default="info", description="debug, info, warning or error.")
    log_format: str = Field(default="console", description="console or json.")
    public_url: str | None = Field(default=None, description="Base URL people reach warroom at (links in pages).")
    # A slow database is an unavailable one: past these, callers get a 503 to retry instead of a hang.
    db_connect_timeout: float = Field(default=5.0, gt=0, description="Seconds to open a database connection.")
    db_statement_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a statement may run; also the intake's wait for its commit."
    )
    db_lock_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for a lock (PostgreSQL lock_timeout, SQLite busy timeout)."
    )
    ready_timeout: float = Field(default=1.5, gt=0, description="Seconds /ready waits for the database.")
    sqlite_synchronous: Literal["normal", "full"] = Field(
        default="normal",
        description="SQLite commit durability: normal (survives a process crash; the last commits can be lost on "
        "power loss or an OS crash) or full (survives those too; each commit waits for the disk).",
    )

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    # The kill-switch for running commands on this host: an operator who does not want admins (or a stolen
    # admin token) to run programs here turns it off, and command monitors and runbook steps then refuse.
    allow_exec: bool = Field(
        default=True, description="Run command monitors and runbook steps on this host (false: they refuse)."
    )

    def database_timeouts(self) -> DatabaseTimeouts:
        """The timeouts every database connection gets."""
        return DatabaseTimeouts(
            connect=self.db_connect_timeout, statement=self.db_statement_timeout, lock=self.db_lock_timeout
        )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        # Checked here so that a wrong URL is one line naming the setting, not a driver's traceback; the
        # message never repeats the URL (it may carry a password).
        if not value:
            return None
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme.split("+", 1)[0] not in ("sqlite", "postgres", "postgresql"):
            shown = f"{scheme} is not supported" if scheme else "not a database URL"
            raise ValueError(f"{shown}: expected sqlite:///PATH or postgresql://USER@HOST/DB")
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # Resolved once, when the settings are made: every command of this process means the same folder.
        return value.expanduser().resolve()

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _log_choice(cls, value: object, info: ValidationInfo) -> object:
        # Refused, not ignored: `xml` used to fall back to the console quietly and `verbose` to info.
        accepted = LEVELS if info.field_name == "log_level" else FORMATS
        text = value.strip().lower() if isinstance(value, str) else value
        if text not in accepted:
            raise ValueError(f"{value!r} is not accepted; expected one of {', '.join(accepted)}")
        return text

    def resolved_database_url(self) -> str:
        """The database URL to use: the explicit one, or SQLite in the data folder."""
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'warroom.db').resolve()}"


def normalize_database_url(url: str) -> str:
    """Accept the URL forms people paste (postgres://, postgresql://) and pick our drivers."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeverityConfig(_Strict):
    """A severity in warroom.yaml; durations as 5m, 1h, ..."""

    name: str
    description: str = ""
    acknowledge: str
    response: str
    detection: str
    mitigation: str
    recovery: str
    update_every: str | None = None
    total: str | None = None
    page: bool = False

    @field_validator("acknowledge", "response", "detection", "mitigation", "recovery", "update_every", "total")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class ServiceConfig(_Strict):
    """A service incidents, alerts and monitors can name."""

    name: str
    description: str = ""


class ConfigFile(_Strict):
    """The whole of warroom.yaml. Each domain adds its own section."""

    severities: list[SeverityConfig] | None = None
    services: list[ServiceConfig] = []
    routes: list[RouteConfig] = []
    inhibit: list[InhibitRuleConfig] = []
    integrations: list[IntegrationConfig] = []
    runbooks: RunbooksConfig = Field(default_factory=RunbooksConfig)
    monitors: list[MonitorConfig] = []
    monitoring: MonitoringConfig = MonitoringConfig()
    users: list[UserConfig] = []
    teams: list[TeamConfig] = []
    schedules: list[ScheduleConfig] = []
    policies: list[PolicyConfig] = []
    notifications: NotificationsConfig = NotificationsConfig()
    postmortems: PostmortemsConfig = Field(default_factory=PostmortemsConfig)
    # Local files (or folders of them) a schedule created over the API may name as its calendar (`file:PATH`);
    # relative to this file. Empty: over the API, calendars come only from http(s) URLs.
    calendar_files: list[str] = []
    # Drills the engine starts on a schedule (RRULE), e.g. quarterly per team (docs/learning.md#drills).
    drills: list[ScheduledDrill] = []
    status_page: StatusPageSettings = Field(default_factory=StatusPageSettings)
    # Single sign-on for the console (docs/console.md#single-sign-on-openid-connect); None: passwords only.
    oidc: OidcConfig | None = None

    def severity_table(self) -> SeverityTable:
        """The configured severity table, or the defaults."""
        if not self.severities:
            return SeverityTable(DEFAULT_SEVERITIES)
        return SeverityTable(
            [
                Severity(
                    name=s.name.upper(),
                    rank=rank,
                    description=s.description,
                    acknowledge=parse_duration(s.acknowledge),
                    response=parse_duration(s.response),
                    detection=parse_duration(s.detection),
                    mitigation=parse_duration(s.mitigation),
                    recovery=parse_duration(s.recovery),
                    update_every=parse_duration(s.update_every) if s.update_every else None,
                    page=s.page,
                    total=parse_duration(s.total) if s.total else None,
                )
                for rank, s in enumerate(self.severities)
            ]
        )


def parse_config_text(text: str, path: str = "warroom.yaml") -> ConfigFile:
    """Parse and validate config text; raises ConfigError listing every problem with its line."""
    parsed, _root, problems = check_config_text(text, path)
    if problems or parsed is None:
        raise ConfigError(problems)
    return parsed


# A top-level section starts at column 0 with `name:`; a YAML error inside one section must not hide the others.
_SECTION = re.compile(r"^[A-Za-z_][\w-]*\s*:")


def _compose(text: str, path: str) -> tuple[yaml.Node | None, Any, list[ConfigProblem]]:
    """The YAML tree and its data; on a syntax error, each top-level section is read on its own, so that the
    sections after a typo are still checked (their lines stay right: each is padded to its place)."""
    try:
        root = yaml.compose(text)
        return root, (yaml.safe_load(text) if root is not None else {}), []
    except yaml.YAMLError as whole:
        first = _yaml_problem(whole, path)
    lines = text.splitlines(keepends=True)
    starts = [index for index, line in enumerate(lines) if _SECTION.match(line)]
    if not starts:
        return None, None, [first]
    starts[0] = 0  # comments before the first section belong to it
    problems: list[ConfigProblem] = []
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    data: dict[str, Any] = {}
    for begin, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        chunk = "\n" * begin + "".join(lines[begin:end])
        try:
            node = yaml.compose(chunk)
            value = yaml.safe_load(chunk)
        except yaml.YAMLError as exc:
            problems.append(_yaml_problem(exc, path))
            continue
        if isinstance(node, yaml.MappingNode) and isinstance(value, dict):
            pairs.extend(node.value)
            data.update(value)
    top = yaml.error.Mark(path, 0, 0, 0, "", 0)  # the document starts on line 1
    return yaml.MappingNode("tag:yaml.org,2002:map", pairs, top, top), data, problems or [first]


def _yaml_problem(exc: yaml.YAMLError, path: str) -> ConfigProblem:
    line, message = yamlerrors.describe(exc)
    return ConfigProblem(path, line, "", message)


def check_config_text(
    text: str, path: str = "warroom.yaml"
) -> tuple[ConfigFile | None, yaml.Node | None, list[ConfigProblem]]:
    """Every problem of config text in one pass: YAML, then the schema of what could be read, then the
    cross-checks of what passed the schema. Returns what validated (None when nothing could), its tree and
    the problems."""
    root, data, problems = _compose(text, path)
    if data is None:
        return None, root, problems
    if not isinstance(data, dict):
        return None, root, [*problems, ConfigProblem(path, 1, "", "the top level must be a mapping of sections")]
    parsed: ConfigFile | None = None
    for _attempt in range(3):
        try:
            parsed = ConfigFile.model_validate(data)
            break
        except ValidationError as exc:
            errors = exc.errors()
            problems.extend(
                ConfigProblem(
                    path,
                    line_of(root, tuple(err["loc"])),
                    ".".join(str(p) for p in err["loc"]),
                    err["msg"],
                )
                for err in errors
            )
            # Leave out what is wrong (the item of a list, else the section) and check the rest, so that a
            # schema error does not hide the cross-checks of everything else.
            data, root = _without(data, root, [tuple(err["loc"]) for err in errors])
    if parsed is not None:
        problems.extend(check_references(parsed, root, path))
    return parsed, root, problems


def _without(
    data: dict[str, Any], root: yaml.Node | None, locations: list[tuple[int | str, ...]]
) -> tuple[dict[str, Any], yaml.Node | None]:
    """`data` and its tree without the list items or sections at `locations` (the tree keeps the lines right)."""
    drop_items: dict[str, set[int]] = {}
    drop_sections: set[str] = set()
    for loc in locations:
        if not loc or not isinstance(loc[0], str):
            continue
        section = loc[0]
        if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(data.get(section), list):
            drop_items.setdefault(section, set()).add(loc[1])
        else:
            drop_sections.add(section)
    kept = {
        key: [item for index, item in enumerate(value) if index not in drop_items[key]] if key in drop_items else value
        for key, value in data.items()
        if key not in drop_sections
    }
    if not isinstance(root, yaml.MappingNode):
        return kept, root
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for key_node, value_node in root.value:
        key = getattr(key_node, "value", None)
        if key in drop_sections:
            continue
        if isinstance(key, str) and key in drop_items and isinstance(value_node, yaml.SequenceNode):
            items = [n for index, n in enumerate(value_node.value) if index not in drop_items[key]]
            value_node = yaml.SequenceNode(value_node.tag, items, value_node.start_mark, value_node.end_mark)
        pairs.append((key_node, value_node))
    return kept, yaml.MappingNode(root.tag, pairs, root.start_mark, root.end_mark)


def check_references(parsed: ConfigFile, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """Cross-checks the schema cannot express: duplicate severities and services here, then the checks each
    domain registered (`configcheck.register`)."""
    problems: list[ConfigProblem] = []
    seen: set[str] = set()
    for index, severity in enumerate(parsed.severities or []):
        if severity.name.upper() in seen:
            problems.append(
                ConfigProblem(
                    path,
                    line_of(root, ("severities", index, "name")),
                    f"severities.{index}.name",
                    f"duplicate severity {severity.name!r}",
                )
            )
        seen.add(severity.name.upper())
    names: set[str] = set()
    for index, service in enumerate(parsed.services):
        if service.name in names:
            problems.append(
                ConfigProblem(
                    path,
                    line_of(root, ("services", index, "name")),
                    f"services.{index}.name",
                    f"duplicate service {service.name!r}",
                )
            )
        names.add(service.name)
    problems.extend(run(parsed, root, path))
    return problems


def load_config_file(path: Path | None) -> ConfigFile:
    """The config file at `path`, or an empty config when there is none."""
    if path is None:
        return ConfigFile()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"cannot read: {exc.strerror}")]) from exc
    return parse_config_text(text, str(path))
