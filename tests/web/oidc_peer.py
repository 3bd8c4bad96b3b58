"""A real local OpenID Connect provider for the tests (oidc-provider-mock, on 127.0.0.1 and a free port)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import oidc_provider_mock
import werkzeug.serving

from tests.peers import free_port

SECRET_ENV = "WARROOM_TEST_OIDC_SECRET"


@dataclass
class OidcPeer:
    """The provider's issuer URL, and how a test puts a person there and logs them in on its page."""

    issuer: str

    def set_user(self, sub: str, **claims: object) -> None:
        """The claims the provider will put in `sub`'s ID token."""
        answer = httpx.put(f"{self.issuer}/users/{sub}", json=claims, timeout=10)
        assert answer.status_code == 204, answer.text

    def authorize(self, authorize_url: str, sub: str) -> dict[str, str]:
        """Log `sub` in on the provider's page (its form's button); the query it redirects back with."""
        answer = httpx.post(authorize_url, data={"sub": sub}, follow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}

    def deny(self, authorize_url: str) -> dict[str, str]:
        """Press the provider's Deny button."""
        answer = httpx.post(authorize_url, data={"action": "deny"}, follow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


@contextmanager
def oidc_provider() -> Iterator[OidcPeer]:
    """The provider running in a thread for the duration (nonce required, as a strict provider does)."""
    port = free_port()
    server = werkzeug.serving.make_server("127.0.0.1", port, oidc_provider_mock.app(require_nonce=True), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield OidcPeer(f"http://127.0.0.1:{port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def oidc_yaml(issuer: str, *, default_role: str | None = None) -> str:
    """An `oidc:` section for this provider (groups mapped to roles)."""
    text = f"""
oidc:
  name: TestID
  issuer: {issuer}
  client_id: warroom
  client_secret_env: {SECRET_ENV}
  role_claim: groups
  roles: {{warroom-admins: admin, sre: responder, staff: viewer}}
"""
    if default_role:
        text += f"  default_role: {default_role}\n"
    return text
