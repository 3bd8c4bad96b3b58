"""Calendar feed URLs: a random token per feed, stable until rotated with one command, refused after."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
from typer.testing import CliRunner

from tests.oncall.helpers import Webhook, oncall_config
from warroom.cli import app as cli
from warroom.config import ConfigFile


@pytest.fixture
def config(webhook: Webhook) -> ConfigFile:
    return oncall_config(webhook)


def local(url: str) -> str:
    return url.replace("http://127.0.0.1:8080", "")


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def summaries(text: str) -> set[str]:
    return {str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(text).walk("VEVENT")}


def test_a_feed_url_is_random_stable_and_rotating_revokes_it(api, client_for):
    first = api.get("/api/v1/feeds/users/alice").json()["url"]
    assert api.get("/api/v1/feeds/users/alice").json()["url"] == first  # subscriptions keep working
    token = token_of(first)
    # Nothing in the token names the person: it is not a signature over "alice" but the MAC of a random nonce.
    decoded = base64.urlsafe_b64decode(token.split(".")[0] + "=" * (-len(token.split(".")[0]) % 4))
    assert b"alice" not in decoded and "." not in token
    assert token != token_of(api.get("/api/v1/feeds/users/bob").json()["url"])
    anonymous = client_for(None)
    assert summaries(anonymous.get(local(first)).text) == {"alice"}
    rotated = api.post("/api/v1/feeds/users/alice/rotate")
    assert rotated.status_code == 200
    second = rotated.json()["url"]
    assert token_of(second) != token
    old = anonymous.get(local(first))
    assert old.status_code == 403 and "rotated" in old.json()["detail"]
    assert summaries(anonymous.get(local(second)).text) == {"alice"}
    assert api.get("/api/v1/feeds/users/alice").json()["url"] == second
    audit = api.get("/api/v1/audit").json()
    assert any(a["action"] == "feed.rotate" and a["target"] == "user:alice" for a in audit)


def test_a_feed_token_opens_only_its_own_calendar(api, client_for):
    alice = local(api.get("/api/v1/feeds/users/alice").json()["url"])
    anonymous = client_for(None)
    for path in (
        alice.replace("/users/alice", "/users/bob"),
        alice.replace("/users/alice", "/schedules/alice"),
        alice.replace("/users/alice", "/teams/alice"),
        alice.split("?")[0],
        alice.split("?")[0] + "?token=",
        alice.split("?")[0] + "?token=bogus",
    ):
        answer = anonymous.get(path)
        assert answer.status_code == 403, (path, answer.text)


def test_a_user_made_again_does_not_reopen_the_old_feed(api, client_for, runtime):
    api.post("/api/v1/users", json={"id": "erin", "contacts": []})
    old = local(api.get("/api/v1/feeds/users/erin").json()["url"])
    assert api.delete("/api/v1/users/erin").status_code == 204
    api.post("/api/v1/users", json={"id": "erin", "contacts": []})
    assert client_for(None).get(old).status_code == 403
    assert api.get("/api/v1/feeds/users/erin").json()["url"] != old


@pytest.mark.parametrize(
    ("role", "expected"), [(None, 401), ("bogus", 401), ("viewer", 403), ("responder", 403), ("admin", 200)]
)
def test_rotating_a_feed_needs_an_admin(client_for, api, role, expected):
    before = api.get("/api/v1/feeds/schedules/primary").json()["url"]
    client = client_for(None if role == "bogus" else role)
    if role == "bogus":
        client.headers["Authorization"] = "Bearer wr_not-a-real-token"
    answer = client.post("/api/v1/feeds/schedules/primary/rotate")
    assert answer.status_code == expected, answer.text
    after = api.get("/api/v1/feeds/schedules/primary").json()["url"]
    assert (after != before) == (expected == 200)
    if expected != 200:
        assert answer.headers["content-type"] == "application/problem+json"


def test_rotating_names_what_is_wrong(api):
    kind = api.post("/api/v1/feeds/teams/database/rotate")
    assert kind.status_code == 422 and kind.json()["errors"][0]["field"] == "kind"
    assert api.post("/api/v1/feeds/users/nobody/rotate").status_code == 404


def test_one_command_rotates_a_feed(live_server, make_token, monkeypatch, api, client_for):
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("admin", "ops"))
    old = api.get("/api/v1/feeds/schedules/primary").json()["url"]
    result = CliRunner().invoke(cli, ["oncall", "feed", "--schedule", "primary", "--rotate"])
    assert result.exit_code == 0, result.output
    new = result.output.strip()
    assert new.startswith("http://127.0.0.1:8080/ical/schedules/primary.ics?token=") and new != old
    assert client_for(None).get(local(old)).status_code == 403
    assert client_for(None).get(local(new)).status_code == 200
    shown = CliRunner().invoke(cli, ["oncall", "feed", "--schedule", "primary"])
    assert shown.output.strip() == new
