"""The subscribers part of warroom.yaml (`status_page.subscribers`): SMTP, rate limit, links.

Like the other domains' config models, this module must not import `warroom.config` (config.py imports it).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from warroom.timeparse import parse_duration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SmtpConfig(_Strict):
    """Where subscriber email goes out. The password is read from the environment variable it names."""

    host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    port: int = Field(default=25, ge=1, le=65535)
    security: str = Field(default="none", description="none, starttls or tls.")
    username: str | None = Field(default=None, max_length=255)
    password_env: str | None = Field(
        default=None, max_length=100, description="Name of the environment variable holding the SMTP password."
    )
    sender: str = Field(default="status@localhost", min_length=3, max_length=255, alias="from")
    timeout: float = Field(default=10.0, gt=0, le=120)

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    @field_validator("security")
    @classmethod
    def _security(cls, value: str) -> str:
        if value not in ("none", "starttls", "tls"):
            raise ValueError("expected none, starttls or tls")
        return value

    @field_validator("sender", "host", "username")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        # These end up in SMTP commands and headers: a line break would be a header injection.
        if value is not None and any(ch in value for ch in "\r\n\0"):
            raise ValueError("must be one line")
        return value


class RateLimitConfig(_Strict):
    """At most `requests` subscription requests per client address within `per`."""

    requests: int = Field(default=5, ge=1, le=10_000)
    per: str = "10m"

    @field_validator("per")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class SubscribersConfig(_Strict):
    """Email and webhook subscribers of the public status page."""

    enabled: bool = Field(default=True, description="Offer /status/subscribe (false: the page answers 404).")
    smtp: SmtpConfig = SmtpConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    batch: int = Field(default=500, ge=1, le=5000, description="Deliveries written and sent per job.")
    retry_for: str = Field(default="1h", description="Keep retrying a failing delivery this long.")

    @field_validator("retry_for")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value
