"""The `oidc:` section of warroom.yaml: single sign-on through an OpenID Connect provider, and its checks."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from warroom import configcheck
from warroom.auth.actor import Role

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ROLE_NAMES = tuple(r.value for r in Role)


class OidcConfig(BaseModel):
    """An OpenID Connect provider with discovery (Keycloak, Dex, Google, Entra, GitLab, ...)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(description="The provider's issuer URL; /.well-known/openid-configuration is read from it.")
    client_id: str = Field(min_length=1, max_length=300)
    # The secret is never in the file: the NAME of the environment variable that holds it. None: a public client
    # (PKCE only), for providers that allow one.
    client_secret_env: str | None = None
    name: str = Field(default="single sign-on", min_length=1, max_length=60, description="The login button's label.")
    scopes: list[str] = ["openid", "profile", "email"]
    username_claim: str = "preferred_username"
    role_claim: str | None = None
    roles: dict[str, str] = {}
    default_role: str | None = None  # None: a person no mapping matches is refused

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme == "https" and parts.hostname:
            return value.strip().rstrip("/")
        if parts.scheme == "http" and parts.hostname in _LOOPBACK:
            return value.strip().rstrip("/")
        raise ValueError("the issuer is an https:// URL (http:// only for a provider on 127.0.0.1 or localhost)")

    @field_validator("client_secret_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(
                "client_secret_env names an environment variable (letters, digits, _), e.g. WARROOM_OIDC_SECRET; "
                "the secret itself never goes in this file"
            )
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError("scopes must include `openid`")
        return value

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: dict[str, str]) -> dict[str, str]:
        for claim_value, role in value.items():
            if role not in ROLE_NAMES:
                raise ValueError(f"roles.{claim_value}: unknown role {role!r}: expected one of {', '.join(ROLE_NAMES)}")
        return value

    @field_validator("default_role")
    @classmethod
    def _default(cls, value: str | None) -> str | None:
        if value is not None and value not in ROLE_NAMES:
            raise ValueError(f"unknown role {value!r}: expected one of {', '.join(ROLE_NAMES)}, or leave it out")
        return value

    @model_validator(mode="after")
    def _mapping(self) -> OidcConfig:
        if self.roles and not self.role_claim:
            raise ValueError("roles maps values of a claim: name it with role_claim (e.g. `role_claim: groups`)")
        if not self.roles and self.default_role is None:
            raise ValueError("nobody could log in: map a claim to roles (role_claim + roles) or set default_role")
        return self


configcheck.register("auth.oidc", "warroom.auth.oidc_checks:check_oidc", review=True)
