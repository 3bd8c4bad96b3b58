"""A post-mortem edited through $EDITOR (a script as the editor), with its action items kept in step both ways."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from warroom.cli import build

EDITOR = """import sys
from pathlib import Path
path = Path(sys.argv[-1])
text = path.read_text()
mode = Path(sys.argv[1]).read_text().strip()
if mode == "add":
    text = text.replace("## Action Items\\n", "## Action Items\\n"
        "- [ ] Add a read replica - Owner: @alice - Due: 2026-01-09\\n"
        "1. [ ] Alert on pool saturation - Owner: @Bob\\n")
    text = text.replace("## Root Cause\\n_What caused the incident._", "## Root Cause\\nThe pool was too small.")
elif mode == "tick":
    text = text.replace("- [ ] Alert on pool saturation", "- [x] Alert on pool saturation")
elif mode == "remove":
    text = "\\n".join(l for l in text.split("\\n") if "pool saturation" not in l)
elif mode == "bad-owner":
    text = text.replace("## Action Items\\n", "## Action Items\\n- [ ] Page harder - Owner: @mallory\\n")
elif mode == "fail":
    sys.exit(3)
elif mode == "race":
    # Someone else saves while this editor is open.
    import json, os, urllib.request
    url = os.environ["WARROOM_URL"] + "/api/v1/postmortems/1"
    headers = {"Authorization": "Bearer " + os.environ["WARROOM_TOKEN"], "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as answer:
        current = json.load(answer)
    body = json.dumps({"body": current["body"] + "Someone else.\\n", "version": current["version"]}).encode()
    urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers, method="PUT")).close()
    text = text + "My late edit.\\n"
path.write_text(text)
"""


@pytest.fixture
def cli(live_server: Any, make_token: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `warroom ...` against the live server with a responder token and the script as $EDITOR."""
    script, mode = tmp_path / "editor.py", tmp_path / "mode"
    script.write_text(EDITOR)
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("responder", "carol"))
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script} {mode}")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str, editor: str = "none", code: int = 0) -> str:
        mode.write_text(editor)
        result = runner.invoke(build(), list(args))
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_editing_in_the_editor_keeps_action_items_in_step(runtime, api, make_incident, cli):
    make_incident(severity="P1", commander="alice")
    cli("postmortem", "draft", "1")
    assert "version 2" in cli("postmortem", "edit", "1", "-m", "root cause and items", editor="add")
    items = api.get("/api/v1/action-items", params={"incident": 1}).json()
    assert [(i["id"], i["text"], i["owner"], i["due"], i["status"]) for i in items] == [
        (1, "Add a read replica", "alice", "2026-01-09", "open"),
        (2, "Alert on pool saturation", "bob", None, "open"),
    ]
    # The stored checklist is written the canonical way (the numbered line and @Bob become `- [ ] ... @bob`).
    body = api.get("/api/v1/postmortems/1").json()["body"]
    assert "- [ ] Alert on pool saturation - Owner: @bob\n" in body
    assert "The pool was too small." in body

    # `action done` ticks the box in a new version.
    assert "is done" in cli("action", "done", "1")
    pm = api.get("/api/v1/postmortems/1").json()
    assert pm["version"] == 3
    assert "- [x] Add a read replica - Owner: @alice - Due: 2026-01-09\n" in pm["body"]
    versions = api.get("/api/v1/postmortems/1/versions").json()
    assert [(v["number"], v["author"], v["summary"]) for v in versions] == [
        (1, "carol", "drafted"),
        (2, "carol", "root cause and items"),
        (3, "carol", "action item 1 is done"),
    ]
    diff = api.get("/api/v1/postmortems/1/diff").json()["diff"]
    assert "-- [ ] Add a read replica" in diff and "+- [x] Add a read replica" in diff

    # Ticking the box in the editor closes the item.
    cli("postmortem", "edit", "1", editor="tick")
    assert api.get("/api/v1/action-items/2").json()["status"] == "done"

    # Removing the line removes the item.
    cli("postmortem", "edit", "1", editor="remove")
    assert [i["text"] for i in api.get("/api/v1/action-items", params={"incident": 1}).json()] == ["Add a read replica"]

    # An editor that fails, or no change, saves nothing; an unknown owner is refused naming the line.
    cli("postmortem", "edit", "1", editor="fail", code=1)
    assert "no change" in cli("postmortem", "edit", "1", editor="none")
    refused = cli("postmortem", "edit", "1", editor="bad-owner", code=1)
    assert "Action item on line" in refused and "mallory" in refused
    assert api.get("/api/v1/postmortems/1").json()["version"] == 5

    # Someone saves while the editor is open: a 409, their text stays, and ours is kept in a file.
    raced = cli("postmortem", "edit", "1", editor="race", code=1)
    assert "is at version 6, not 5" in raced and "Your text is kept in" in raced
    kept = Path("postmortem-1.v5.edited.md").read_text()
    assert kept.endswith("My late edit.\n")
    body = api.get("/api/v1/postmortems/1").json()["body"]
    assert body.endswith("Someone else.\n") and "My late edit." not in body

    # The export carries the front matter a team keeps in git.
    exported = cli("postmortem", "export", "1")
    assert exported.startswith("---\nincident: 1\n")
    assert "state: draft\n" in exported and "- id: 1\n" in exported and "status: done\n" in exported


def test_a_stale_version_is_a_conflict_and_nothing_is_lost(runtime, client_for, make_incident):
    make_incident(severity="P2")
    responder = client_for("responder")
    assert responder.post("/api/v1/incidents/1/postmortem").status_code == 201
    first = responder.get("/api/v1/postmortems/1").json()
    saved = responder.put("/api/v1/postmortems/1", json={"body": first["body"] + "\nMine.\n", "version": 1})
    assert saved.status_code == 200 and saved.json()["version"] == 2
    stale = responder.put("/api/v1/postmortems/1", json={"body": first["body"] + "\nTheirs.\n", "version": 1})
    assert stale.status_code == 409 and "version 2, not 1" in stale.json()["detail"]
    assert responder.get("/api/v1/postmortems/1").json()["body"].endswith("\nMine.\n")


def test_states_and_an_admins_reopen(runtime, client_for, make_incident):
    make_incident(severity="P2")
    responder, admin = client_for("responder"), client_for("admin")
    responder.post("/api/v1/incidents/1/postmortem")
    skip = responder.post("/api/v1/postmortems/1/state", json={"state": "published"})
    assert skip.status_code == 409 and "Allowed: in_review" in skip.json()["detail"]
    assert responder.post("/api/v1/postmortems/1/state", json={"state": "in_review"}).status_code == 200
    assert responder.post("/api/v1/postmortems/1/state", json={"state": "published"}).status_code == 200
    body = responder.get("/api/v1/postmortems/1").json()["body"]
    locked = responder.put("/api/v1/postmortems/1", json={"body": body + "x\n", "version": 1})
    assert locked.status_code == 409 and "read-only" in locked.json()["detail"]
    assert responder.post("/api/v1/postmortems/1/reopen").status_code == 403
    assert admin.post("/api/v1/postmortems/1/reopen").json()["state"] == "draft"
    assert responder.put("/api/v1/postmortems/1", json={"body": body + "x\n", "version": 1}).status_code == 200


@pytest.mark.backend("sqlite")
def test_a_hostile_checklist_is_refused_at_once(runtime, api, make_incident):
    import time

    make_incident(severity="P2")
    body = api.post("/api/v1/incidents/1/postmortem").json()["body"]
    started = time.monotonic()
    hostile = body + "- [ ] a" + " " * 150_000 + "b\n" + "- [ ] c" + " -" * 20_000 + "\n"
    answer = api.put("/api/v1/postmortems/1", json={"body": hostile, "version": 1})
    assert answer.status_code == 422 and "longer than 2000 characters" in answer.json()["detail"]
    assert time.monotonic() - started < 2
    bad_date = body + "- [ ] Replace the disk - Due: someday\n"
    answer = api.put("/api/v1/postmortems/1", json={"body": bad_date, "version": 1})
    assert answer.status_code == 422 and "Due 'someday' is not a date" in answer.json()["detail"]
    bad_ticket = body + "- [ ] Replace the disk - Ticket: javascript:alert(1)\n"
    answer = api.put("/api/v1/postmortems/1", json={"body": bad_ticket, "version": 1})
    assert answer.status_code == 422 and "is not an http(s) link" in answer.json()["detail"]
    assert api.get("/api/v1/postmortems/1").json()["version"] == 1
