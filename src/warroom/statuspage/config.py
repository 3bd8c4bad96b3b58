"""The `status_page:` section of warroom.yaml: the page's name and address, components, groups, templates."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from warroom import configcheck
from warroom.statuspage import templates
from warroom.statuspage.subscriber_config import SubscribersConfig

COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupConfig(_Strict):
    """A group of components, shown in the order groups are listed."""

    name: str = Field(min_length=1, max_length=100)


class ComponentConfig(_Strict):
    """A component of the page and the services it stands for."""

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    group: str | None = Field(default=None, max_length=100)
    services: list[str] = Field(default_factory=list, description="Services whose incidents and monitors it follows.")

    @field_validator("name", "group")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("cannot be empty")
        return value


class TemplateConfig(_Strict):
    """The texts of one status: the public text and (incident statuses) the internal message."""

    public: str | None = None
    internal: str | None = None

    @field_validator("public")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        if value is not None:
            templates.check(value, templates.PUBLIC_SAMPLE)
        return value

    @field_validator("internal")
    @classmethod
    def _internal(cls, value: str | None) -> str | None:
        if value is not None:
            templates.check(value, templates.INTERNAL_SAMPLE)
        return value


class StatusPageSettings(_Strict):
    """What the public status page is called, where it lives, and what it is made of."""

    name: str = Field(default="Status", min_length=1, max_length=100, description="The page's title.")
    url: str = Field(default="", max_length=500, description="The page's public address (links in feeds, mails).")
    time_zone: str = Field(default="UTC", description="IANA time zone times are shown in.")
    groups: list[GroupConfig] = Field(default_factory=list)
    components: list[ComponentConfig] = Field(default_factory=list)
    templates: dict[str, TemplateConfig] = Field(
        default_factory=dict, description="Per status: `public` and `internal` Jinja2 text replacing the defaults."
    )
    subscribers: SubscribersConfig = Field(
        default_factory=SubscribersConfig, description="Email and webhook subscribers (docs/statuspage.md#subscribers)."
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/Paris or UTC") from None
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("the page's url must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("templates")
    @classmethod
    def _statuses(cls, value: dict[str, TemplateConfig]) -> dict[str, TemplateConfig]:
        known = templates.INCIDENT_STATUSES + templates.MAINTENANCE_STATUSES
        for status, config in value.items():
            if status not in known:
                raise ValueError(f"unknown status {status!r}: expected one of {', '.join(known)}")
            if config.internal is not None and status in templates.MAINTENANCE_STATUSES:
                raise ValueError(f"{status}: maintenance has no internal message, only `public`")
        return value

    def public_template(self, status: str) -> str:
        """The public text template of `status` (configured, else the seeds')."""
        configured = self.templates.get(status)
        if configured is not None and configured.public is not None:
            return configured.public
        return templates.DEFAULT_PUBLIC[status]

    def internal_template(self, status: str) -> str:
        """The internal "INCIDENT UPDATE" template of `status` (configured, else the seeds')."""
        configured = self.templates.get(status)
        if configured is not None and configured.internal is not None:
            return configured.internal
        return templates.DEFAULT_INTERNAL


configcheck.register("statuspage", "warroom.statuspage.config_checks:check_status_page")
configcheck.register("statuspage", "warroom.statuspage.config_checks:review_status_page", review=True)
configcheck.register("statuspage-held", "warroom.statuspage.config_checks:review_held_components", review=True)
