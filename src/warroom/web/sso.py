"""Console routes of single sign-on (OpenID Connect): off to the provider, and back with an authorization code.

The protocol and the ID token's checks are in auth/oidc.py; here are the browser's side (the pending login in an
HttpOnly cookie) and the login page's messages. The redirect URI is WARROOM_PUBLIC_URL (else
http://WARROOM_HOST:WARROOM_PORT) + /login/oidc/callback: register that one at the provider."""

from __future__ import annotations

import base64
import json
from typing import Annotated

import structlog
from fastapi import Query, Request, Response
from fastapi.responses import RedirectResponse

from warroom.auth import accounts, oidc
from warroom.auth.oidc_config import OidcConfig
from warroom.deps import RuntimeDep, WriteSession
from warroom.runtime import Runtime
from warroom.web.errors import console_router, error_page
from warroom.web.login import login_page, safe_next, start_session
from warroom.web.session import clear_cookie, client_addr, cookie_name, set_cookie

log = structlog.get_logger("warroom.web")
router = console_router()

PENDING_COOKIE = "warroom_oidc"
PENDING_SECONDS = 600  # the person has this long at the provider's page
CALLBACK = "/login/oidc/callback"
EXTRA = "auth.oidc"
Param = Annotated[str, Query(max_length=4096)]


def _config(runtime: Runtime) -> OidcConfig | None:
    return getattr(runtime.config, "oidc", None)


def provider_of(runtime: Runtime) -> oidc.Provider | None:
    """This process's provider (its discovery and keys cached), or None when no `oidc:` is configured."""
    config = _config(runtime)
    if config is None:
        return None
    provider = runtime.extras.get(EXTRA)
    if not isinstance(provider, oidc.Provider) or provider.config is not config:
        provider = oidc.Provider(config)
        runtime.extras[EXTRA] = provider
    return provider


def redirect_uri(runtime: Runtime) -> str:
    """Where the provider sends the browser back: fixed by the settings (the provider checks it exactly)."""
    settings = runtime.settings
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").strip().rstrip("/")
    return base + CALLBACK


def _encode(pending: oidc.Pending) -> str:
    return base64.urlsafe_b64encode(json.dumps(pending.as_dict()).encode()).decode()


def _decode(raw: str | None) -> oidc.Pending | None:
    if not raw or len(raw) > 8192:
        return None
    try:
        return oidc.Pending.of(json.loads(base64.urlsafe_b64decode(raw.encode())))
    except (ValueError, UnicodeDecodeError):
        return None


def _refused(request: Request, message: str, next_path: str = "/incidents", status: int = 401) -> Response:
    response = login_page(request, next_path=next_path, error=message, status=status)
    clear_cookie(response, request, base=PENDING_COOKIE)
    return response


@router.get("/login/oidc")
def sso_start(
    request: Request, runtime: RuntimeDep, next: Annotated[str | None, Query(max_length=2048)] = None
) -> Response:
    """Off to the provider's login page (authorization code flow with PKCE, state and nonce)."""
    provider = provider_of(runtime)
    if provider is None:
        return error_page(request, 404, "Single sign-on is not configured on this server (no `oidc:` section).")
    target = safe_next(next)
    try:
        url, pending = oidc.begin(provider, redirect_uri=redirect_uri(runtime), next_path=target)
    except oidc.SsoRefused as exc:
        log.warning("sso refused before the provider", reason=exc.message)
        return _refused(request, exc.message, target, status=502)
    response = RedirectResponse(url, status_code=303)
    set_cookie(response, request, _encode(pending), base=PENDING_COOKIE, max_age=PENDING_SECONDS)
    return response


@router.get(CALLBACK)
def sso_callback(
    request: Request,
    session: WriteSession,
    runtime: RuntimeDep,
    code: Param = "",
    state: Param = "",
    error: Param = "",
    error_description: Param = "",
) -> Response:
    """Back from the provider: check the state, trade the code, validate the ID token, log in (or say why not)."""
    provider = provider_of(runtime)
    if provider is None:
        return error_page(request, 404, "Single sign-on is not configured on this server (no `oidc:` section).")
    pending = _decode(request.cookies.get(cookie_name(request, PENDING_COOKIE)))
    if pending is None:
        return _refused(request, "This sign-on took too long, or cookies are blocked: log in again.")
    # The cookie is the browser's to write: where to go next is checked again (a path of ours, never a site).
    pending = oidc.Pending(pending.state, pending.nonce, pending.verifier, safe_next(pending.next))
    if error:
        said = (error_description or error)[:200]
        log.info("sso refused by the provider", error=error[:60])
        return _refused(request, f"The sign-on provider did not log you in: {said}", pending.next)
    if not state or not accounts.same_secret(state, pending.state):
        log.warning("sso refused: state mismatch", remote_addr=client_addr(request))
        return _refused(request, "This sign-on answer does not belong to your login (state): log in again.")
    if not code:
        return _refused(request, "The sign-on provider sent no authorization code: log in again.", pending.next)
    now = runtime.clock.now()
    uri = redirect_uri(runtime)
    try:
        id_token = oidc.exchange(provider, code=code, redirect_uri=uri, pending=pending)
        claims = oidc.validate(provider, id_token, nonce=pending.nonce, now=now)
        account = oidc.login(session, provider.config, claims, now=now)
    except oidc.SsoRefused as exc:
        session.rollback()
        log.warning("sso refused", reason=exc.message, remote_addr=client_addr(request))
        return _refused(request, exc.message, pending.next)
    secret = start_session(request, session, runtime, account, "session.login")
    session.commit()
    log.info("sso login", username=account.username, role=account.role)
    response = RedirectResponse(pending.next, status_code=303)
    set_cookie(response, request, secret)
    clear_cookie(response, request, base=PENDING_COOKIE)
    return response
