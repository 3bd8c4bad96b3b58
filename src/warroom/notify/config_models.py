"""The notify parts of warroom.yaml: a contact method, and the `notifications:` section (retries, storms, links).

Notify's own, so delivery reads its settings without knowing the on-call models that embed them. Like
`oncall.config_models`, this module must not import `warroom.config` (config.py imports it).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from warroom.timeparse import parse_duration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


class ContactConfig(_Strict):
    """A way to reach a person: an Apprise URL (mailto://, json://, ntfy://, slack:// ...) with a label."""

    label: str | None = Field(default=None, max_length=50)
    url: str = Field(min_length=3, max_length=2000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("a contact is an Apprise URL such as mailto://alice@example.com or ntfy://ntfy.sh/topic")
        return value


class StormConfig(_Strict):
    """Storm control: past `threshold` incidents paging one person within `window`, the rest come as a digest."""

    threshold: int = Field(default=3, ge=1)
    window: str = "1m"

    _window = field_validator("window")(_duration)


class NotificationsConfig(_Strict):
    """How notifications are retried, folded in storms, and how long one-click links stay valid."""

    retry_for: str = Field(default="15m", description="Keep retrying a failing delivery this long.")
    link_ttl: str = Field(default="24h", description="Acknowledge/resolve links expire after this.")
    storm: StormConfig = StormConfig()

    _durations = field_validator("retry_for", "link_ttl")(_duration)
