"""OpenID Connect login: the authorization request (state, nonce, PKCE), the code exchange, the ID token's checks
(signature by the provider's JWKS, issuer, audience, expiry, nonce), and the account it logs in to.

The provider's answers are hostile until checked: every failure is `SsoRefused` with a sentence a person can act
on (the login page shows it); the client secret and tokens never reach a message or the log."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.auth import accounts
from warroom.auth.actor import Role
from warroom.auth.models import Account
from warroom.auth.oidc_config import OidcConfig
from warroom.errors import InvalidInput

LEEWAY = 60  # seconds of clock difference tolerated on exp and iat
TIMEOUT = httpx.Timeout(10.0)
METADATA_TTL = 3600.0  # discovery and JWKS are read again after this (and JWKS at once for an unknown key id)
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class SsoRefused(Exception):
    """A single sign-on login that cannot go on; `message` is for the person at the login page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Pending:
    """What the browser carries between the redirect to the provider and its return (in an HttpOnly cookie)."""

    state: str
    nonce: str
    verifier: str
    next: str

    def as_dict(self) -> dict[str, str]:
        """The cookie's content."""
        return {"s": self.state, "n": self.nonce, "v": self.verifier, "x": self.next}

    @classmethod
    def of(cls, data: object) -> Pending | None:
        """The pending login from the cookie's content, or None when it is not one."""
        if not isinstance(data, dict):
            return None
        values = [data.get(k) for k in ("s", "n", "v", "x")]
        if not all(isinstance(v, str) and 0 < len(v) <= 2048 for v in values[:3]) or not isinstance(values[3], str):
            return None
        return cls(*[str(v) for v in values])


@dataclass
class Provider:
    """An OpenID provider as discovered, with its metadata and keys cached (one per process)."""

    config: OidcConfig
    monotonic: Callable[[], float] = time.monotonic
    _metadata: dict[str, Any] | None = None
    _metadata_at: float = 0.0
    _keys: KeySet | None = None
    _keys_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            answer = httpx.get(url, timeout=TIMEOUT, follow_redirects=False, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise SsoRefused(f"The sign-on provider cannot be reached ({what}: {type(exc).__name__}).") from None
        if answer.status_code != 200:
            raise SsoRefused(f"The sign-on provider answered {answer.status_code} for its {what}.")
        try:
            data = answer.json()
        except ValueError:
            raise SsoRefused(f"The sign-on provider's {what} is not JSON.") from None
        if not isinstance(data, dict):
            raise SsoRefused(f"The sign-on provider's {what} is not a JSON object.")
        return data

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (checked: its issuer is the configured one, its endpoints are URLs)."""
        with self._lock:
            if self._metadata is not None and self.monotonic() - self._metadata_at < METADATA_TTL:
                return self._metadata
        data = self._get_json(self.config.issuer + "/.well-known/openid-configuration", "discovery document")
        if str(data.get("issuer", "")).rstrip("/") != self.config.issuer:
            raise SsoRefused(
                "The sign-on provider's discovery document names another issuer than `oidc.issuer`: fix the setting."
            )
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = data.get(key)
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise SsoRefused(f"The sign-on provider's discovery document has no usable {key}.")
        with self._lock:
            self._metadata, self._metadata_at = data, self.monotonic()
        return data

    def keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's signing keys (JWKS)."""
        with self._lock:
            fresh = self._keys is not None and self.monotonic() - self._keys_at < METADATA_TTL
            if fresh and not refresh and self._keys is not None:
                return self._keys
        data = self._get_json(str(self.metadata()["jwks_uri"]), "signing keys (JWKS)")
        try:
            keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise SsoRefused("The sign-on provider's signing keys (JWKS) cannot be read.") from None
        with self._lock:
            self._keys, self._keys_at = keys, self.monotonic()
        return keys


def client_secret(config: OidcConfig) -> str | None:
    """The client secret from its environment variable (None for a public client); SsoRefused when unset."""
    if config.client_secret_env is None:
        return None
    value = os.environ.get(config.client_secret_env, "")
    if not value:
        raise SsoRefused(f"Single sign-on is not ready: the server has no {config.client_secret_env} (ask an admin).")
    return value


def begin(provider: Provider, *, redirect_uri: str, next_path: str) -> tuple[str, Pending]:
    """The provider's authorization URL for a new login (code flow, PKCE S256, state, nonce) and what to keep."""
    client_secret(provider.config)  # refuse now, not after the person typed their password at the provider
    pending = Pending(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),
        next=next_path,
    )
    params = {
        "response_type": "code",
        "client_id": provider.config.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(provider.config.scopes),
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": create_s256_code_challenge(pending.verifier),
        "code_challenge_method": "S256",
    }
    endpoint = str(provider.metadata()["authorization_endpoint"])
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}", pending


def exchange(provider: Provider, *, code: str, redirect_uri: str, pending: Pending) -> str:
    """Trade the authorization code (with the PKCE verifier) for the ID token, as it came."""
    config = provider.config
    secret = client_secret(config)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": pending.verifier,
        "client_id": config.client_id,
    }
    auth = httpx.BasicAuth(config.client_id, secret) if secret is not None else None
    try:
        answer = httpx.post(
            str(provider.metadata()["token_endpoint"]),
            data=form,
            auth=auth,
            timeout=TIMEOUT,
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise SsoRefused(f"The sign-on provider cannot be reached (token: {type(exc).__name__}).") from None
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code != 200 or not isinstance(body, dict):
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        raise SsoRefused(f"The sign-on provider refused the login ({error[:60] or answer.status_code}): try again.")
    id_token = body.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise SsoRefused("The sign-on provider sent no ID token: is `openid` among its client's scopes?")
    return id_token


def validate(provider: Provider, id_token: str, *, nonce: str, now: datetime) -> dict[str, Any]:
    """The ID token's claims once its signature (the provider's JWKS), issuer, audience, expiry and nonce hold."""
    config = provider.config
    try:
        try:
            token = jwt.decode(id_token, provider.keys(), algorithms=ALGORITHMS)
        except JoseError as first:
            if "key" not in type(first).__name__.lower() and "key" not in str(first).lower():
                raise
            token = jwt.decode(id_token, provider.keys(refresh=True), algorithms=ALGORITHMS)  # rotated keys
    except (JoseError, ValueError, TypeError):
        raise SsoRefused("The sign-on provider's ID token is not validly signed: login refused.") from None
    claims = token.claims
    if str(claims.get("iss", "")).rstrip("/") != config.issuer:
        raise SsoRefused("The ID token comes from another issuer: login refused.")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if config.client_id not in audiences:
        raise SsoRefused("The ID token was issued for another application (audience): login refused.")
    if len(audiences) > 1 and claims.get("azp") != config.client_id:
        raise SsoRefused("The ID token was issued for another application (authorized party): login refused.")
    stamp = now.timestamp()
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp <= stamp - LEEWAY:
        raise SsoRefused("The ID token has expired (is this server's clock right?): log in again.")
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or iat > stamp + LEEWAY:
        raise SsoRefused("The ID token is dated in the future (is this server's clock right?): log in again.")
    offered = claims.get("nonce")
    if not isinstance(offered, str) or not accounts.same_secret(offered, nonce):
        raise SsoRefused("The ID token does not answer this login (nonce): log in again.")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 300:
        raise SsoRefused("The ID token names no subject: login refused.")
    return claims


def role_for(config: OidcConfig, claims: dict[str, Any]) -> Role:
    """The highest role the claims map to, else `default_role`; SsoRefused when neither gives one."""
    found: list[Role] = []
    if config.role_claim:
        value = claims.get(config.role_claim)
        values = value if isinstance(value, list) else [value]
        found = [Role(config.roles[v]) for v in values if isinstance(v, str) and v in config.roles]
    if found:
        return max(found, key=lambda r: r.level)
    if config.default_role is not None:
        return Role(config.default_role)
    raise SsoRefused(
        "Your sign-on account has no warroom role "
        f"(none of its `{config.role_claim}` values is mapped): ask an admin to add you to a mapped group."
    )


def login(session: Session, config: OidcConfig, claims: dict[str, Any], *, now: datetime) -> Account:
    """The account these claims log in to: found by (issuer, subject), else the account named by the username claim
    (linked now: one person, one name, the on-call user of that name), else a new one; its role set from the claims."""
    role = role_for(config, claims)
    subject = str(claims["sub"])
    account = session.scalar(
        select(Account).where(Account.oidc_issuer == config.issuer, Account.oidc_subject == subject)
    )
    if account is None:
        raw = claims.get(config.username_claim)
        if not isinstance(raw, str):
            raise SsoRefused(f"The sign-on provider sent no `{config.username_claim}` claim to name your account.")
        try:
            username = accounts.check_username(raw)
        except InvalidInput:
            raise SsoRefused(
                f"Your `{config.username_claim}` cannot be a warroom username (letters, digits, . _ @ -)."
            ) from None
        account = accounts.get(session, username)
        if account is not None and account.oidc_subject is not None:
            raise SsoRefused(f"The account {username!r} belongs to another sign-on identity: ask an admin.")
        if account is None:
            account = accounts.create(session, username=username, role=role, created_by="oidc", now=now)
        account.oidc_issuer, account.oidc_subject = config.issuer, subject
    if account.disabled_at is not None:
        raise SsoRefused("This account is disabled: ask an admin.")
    accounts.set_role(account, role)
    session.flush()
    return account
