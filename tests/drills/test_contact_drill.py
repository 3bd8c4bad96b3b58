"""A contact drill: every method of every person paged with a test page; one reachable, one broken."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.drills.conftest import drill_config
from warroom.config import ConfigFile


@pytest.fixture
def config(webhook, shop, tmp_path) -> ConfigFile:
    return drill_config(webhook, shop, tmp_path)


def test_a_contact_drill_finds_the_method_that_reaches_nobody(api, client_for, engine, webhook, clock):
    started = api.post("/api/v1/drills/contacts", json={"team": "shop-team", "deadline": "15m"})
    assert started.status_code == 201, started.text
    drill = started.json()
    engine.run_due()
    got = {m.path: m for m in webhook.wait_for(2)}
    assert set(got) == {"/alice", "/bob-phone"}  # bob's pager goes to a port where nobody listens
    for message in got.values():
        assert message.title.startswith("DRILL: ") and "DRILL: test page, please acknowledge" in message.body

    clock.advance(seconds=40)
    assert client_for(None).post(urlparse(got["/bob-phone"].link("acknowledge")).path).status_code == 200
    running = api.get(f"/api/v1/drills/{drill['id']}/report").json()["report"]
    states = {(m["user"], m["method"]): m["state"] for m in running["methods"]}
    assert states == {("alice", "json"): "waiting", ("bob", "phone"): "reachable", ("bob", "pager"): "waiting"}

    clock.advance(minutes=15)
    engine.run_due()
    done = api.get(f"/api/v1/drills/{drill['id']}/report").json()
    assert done["state"] == "finished"
    methods = {(m["user"], m["method"]): m for m in done["report"]["methods"]}
    assert methods[("bob", "phone")]["state"] == "reachable" and methods[("bob", "phone")]["seconds"] == 40
    assert methods[("alice", "json")]["state"] == "unreachable"
    assert methods[("bob", "pager")]["state"] == "unreachable"
    assert sorted(done["report"]["unreachable"]) == ["alice via json", "bob via pager"]
    # The test incidents are drills, and closed at the deadline.
    items = api.get("/api/v1/incidents", params={"limit": 10}).json()["items"]
    assert len(items) == 3 and all(i["drill"] and i["status"] == "resolved" for i in items)


@pytest.mark.backend("sqlite")
def test_a_contact_drill_without_anyone_to_page_says_so(api):
    answer = api.post("/api/v1/drills/contacts", json={"team": "nobody-here"})
    assert answer.status_code == 404 and "nobody-here" in answer.text
