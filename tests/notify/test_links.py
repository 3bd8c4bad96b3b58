"""Signed one-click links: a forged or malformed claim is refused, and a link acts once."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.oncall.helpers import Webhook, oncall_config
from warroom.config import ConfigFile
from warroom.incidents import timeline
from warroom.notify import links


@pytest.fixture
def config(webhook: Webhook) -> ConfigFile:
    return oncall_config(webhook)


def kinds(runtime: Any, number: int) -> list[str]:
    with runtime.db.session() as session:
        return [e.kind for e in timeline.events(session, number)]


def status(api: Any, number: int) -> str:
    return str(api.get(f"/api/v1/incidents/{number}").json()["status"])


def link_path(url: str) -> str:
    return url.replace("http://127.0.0.1:8080", "")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_link_edited_to_name_another_incident_is_refused(runtime, make_incident, engine, webhook, client_for, api):
    make_incident(severity="P1")
    make_incident(severity="P3", title="Quiet one")  # P3 does not page: no link for #2 exists anywhere
    engine.run_due()
    (page,) = webhook.wait_for(1)
    payload, signature = link_path(page.link("acknowledge")).removeprefix("/l/").split(".")
    claims = json.loads(unb64(payload))
    assert claims["i"] == 1
    # Valid JSON naming #2 under #1's signature: it parses, so only the signature check can refuse it.
    forged = "/l/" + b64(json.dumps(dict(claims, i=2), separators=(",", ":"), sort_keys=True).encode())
    forged += "." + signature
    anonymous = client_for(None)
    for answer in (anonymous.get(forged), anonymous.post(forged)):
        assert answer.status_code == 403 and "not valid" in answer.text
    assert status(api, 2) == "triggered"
    assert "acknowledged" not in kinds(runtime, 2) and "notification_acknowledged" not in kinds(runtime, 2)
