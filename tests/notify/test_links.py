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
from warroom.oncall import paging


@pytest.fixture
def config(webhook: Webhook) -> ConfigFile:
    return oncall_config(webhook)


def kinds(runtime: Any, number: int) -> list[str]:
    with runtime.db.session() as session:
        return [e.kind for e in timeline.events(session, number)]


def status(api: Any, number: int) -> str:
    return str(api.get(f"/api/v1/incidents/{number}").json()["status"])


def paging_state(runtime: Any, number: int) -> str:
    with runtime.db.session() as session:
        escalation = paging.get(session, number)
        assert escalation is not None
        return escalation.state


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


def signed(runtime: Any, claims: Any) -> str:
    """A token this installation really signed, carrying whatever claims the test wants."""
    with runtime.db.transaction() as session:
        key = links.signing_key(session, runtime.clock.now())
    return "/l/" + links.sign(key, claims)


GOOD = {"k": "act", "i": 1, "a": "acknowledge", "u": "alice", "n": None, "e": 4_000_000_000}


@pytest.mark.parametrize(
    "claims",
    [
        {k: v for k, v in GOOD.items() if k != "e"},
        dict(GOOD, e="tomorrow"),
        dict(GOOD, e=None),
        dict(GOOD, e=10**30),
        dict(GOOD, e=1.5e300),
        dict(GOOD, e=[1]),
        {k: v for k, v in GOOD.items() if k != "i"},
        dict(GOOD, i=True),
        dict(GOOD, i="1"),
        dict(GOOD, i=10**30),
        dict(GOOD, i=-1),
        dict(GOOD, u=5),
        dict(GOOD, n={"x": 1}),
        dict(GOOD, a=None),
        ["act", 1],
        "act",
    ],
    ids=lambda c: json.dumps(c)[:60],
)
def test_signed_claims_with_a_missing_or_malformed_expiry_or_id_answer_403(
    runtime, make_incident, client_for, api, claims
):
    make_incident(severity="P3")
    path = signed(runtime, claims)
    anonymous = client_for(None)
    for answer in (anonymous.get(path), anonymous.post(path)):
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"].startswith("text/html") and "Link not valid" in answer.text
    assert status(api, 1) == "triggered"


def test_a_link_acts_once_even_after_the_incident_reopens(runtime, make_incident, engine, webhook, client_for, api):
    make_incident(severity="P1")
    engine.run_due()
    (page,) = webhook.wait_for(1)
    ack, resolve = link_path(page.link("acknowledge")), link_path(page.link("resolve"))
    anonymous = client_for(None)
    assert anonymous.post(ack).status_code == 200 and status(api, 1) == "acknowledged"
    assert anonymous.post(resolve).status_code == 200 and status(api, 1) == "resolved"
    assert api.post("/api/v1/incidents/1/reopen", json={"message": "it is back"}).status_code == 200
    engine.run_due()
    assert paging_state(runtime, 1) == "active"  # the reopened incident pages again
    for path, verb in ((ack, "acknowledge"), (resolve, "resolve")):
        for answer in (anonymous.get(path), anonymous.post(path)):
            assert answer.status_code == 410, answer.text
            assert f"This link was already used to {verb} incident #1" in answer.text
            assert "<form" not in answer.text
    assert status(api, 1) != "resolved" and paging_state(runtime, 1) == "active"
    assert kinds(runtime, 1).count("notification_acknowledged") == 1 and kinds(runtime, 1).count("resolved") == 1


def test_a_link_that_did_nothing_is_not_spent(runtime, make_incident, engine, webhook, client_for, api):
    make_incident(severity="P1")
    engine.run_due()
    (page,) = webhook.wait_for(1)
    ack = link_path(page.link("acknowledge"))
    assert api.post("/api/v1/incidents/1/resolve").status_code == 200
    anonymous = client_for(None)
    assert "is resolved" in anonymous.post(ack).text  # nothing done: the link stays usable
    api.post("/api/v1/incidents/1/reopen", json={"message": "back"})
    engine.run_due()
    done = anonymous.post(ack)
    assert done.status_code == 200 and "paging stopped" in done.text
    assert paging_state(runtime, 1) == "acknowledged"


def test_two_clicks_at_once_act_once(runtime, make_incident, engine, webhook, live_server, api):
    import threading

    import httpx

    make_incident(severity="P1")
    engine.run_due()
    (page,) = webhook.wait_for(1)
    url = live_server.url + link_path(page.link("resolve"))
    start = threading.Barrier(4)
    codes: list[int] = []

    def click() -> None:
        start.wait()
        codes.append(httpx.post(url, timeout=30).status_code)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 410, 410, 410]
    assert kinds(runtime, 1).count("resolved") == 1
