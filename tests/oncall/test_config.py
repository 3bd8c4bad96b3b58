"""Configuration as code: warroom.yaml's on-call sections are checked line by line, synced, and exported."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from warroom.cli import app as cli
from warroom.config import ConfigError, Settings, parse_config_text
from warroom.db import Database
from warroom.oncall import service
from warroom.oncall.setup import sync
from warroom.runtime import Runtime

GOOD = """\
users:
  - id: alice
    name: Alice Example
    timezone: Europe/Berlin
    contacts: ["json://127.0.0.1:9/alice"]
  - id: bob
    contacts:
      - {label: ntfy, url: "ntfy://ntfy.sh/bob-pages"}
      - {label: email, url: "mailto://bob:pw@example.test"}
    rules:
      - {after: 0m, contacts: [ntfy]}
      - {after: 5m, contacts: [email], urgency: high}
teams:
  - id: database
    members: [bob]
    channel: "json://127.0.0.1:9/database-experts"
schedules:
  - id: primary
    timezone: Europe/Berlin
    layers:
      - rotation: {participants: [alice, bob], shift: 1w, handoff: "Mon 09:00"}
policies:
  - id: default
    repeat: 2
    levels:
      - notify: [schedule:primary]
        escalate_after: 10m
      - notify: [team:database]
        when: {category: database}
"""

BAD = """\
users:
  - id: alice
    contacts: ["json://127.0.0.1:9/alice"]
    rules:
      - {contacts: [sms]}
teams:
  - id: database
    members: [carol]
schedules:
  - id: primary
    layers:
      - rotation: {participants: [alice, mallory]}
      - level: 1
        rotation: {participants: [alice]}
        restrictions:
          - {days: [mon], start: "09:00", end: "18:00"}
          - {days: [mon, tue], start: "17:00", end: "20:00"}
policies:
  - id: default
    levels:
      - notify: []
      - notify: [schedule:secondary, channel:database]
        when: {severity: P9}
"""


def test_a_good_file_passes(tmp_path: Path):
    parsed = parse_config_text(GOOD)
    assert [u.id for u in parsed.users] == ["alice", "bob"]
    path = tmp_path / "warroom.yaml"
    path.write_text(GOOD)
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output


def test_config_check_names_the_line_of_each_problem(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        parse_config_text(BAD)
    found = {(p.line, p.message) for p in caught.value.problems}
    assert found == {
        (5, "rule names contact 'sms'; alice has json"),
        (8, "unknown user 'carol'"),
        (12, "unknown user 'mallory'"),
        (13, "layer 2 has level 1 like layer 1: they would overlap"),
        (13, "restrictions overlap on mon (09:00-18:00, 17:00-20:00)"),
        (21, "level has no target"),
        (22, "unknown schedule 'secondary'"),
        (22, "unknown team with a channel 'database'"),
        (23, "unknown severity 'P9': expected one of P0, P1, P2, P3, P4"),
    }
    path = tmp_path / "warroom.yaml"
    path.write_text(BAD)
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # Rich wraps long lines
    assert f"{path}:12: schedules.0.layers.0.rotation.participants.1: unknown user 'mallory'" in output


def test_schema_errors_name_their_line_too():
    with pytest.raises(ConfigError) as caught:
        parse_config_text(
            "schedules:\n  - id: primary\n    timezone: Mars/Olympus\n    layers:\n"
            "      - rotation: {participants: [a], shift: 90m}\n"
        )
    messages = {(p.line, p.location) for p in caught.value.problems}
    assert (3, "schedules.0.timezone") in messages
    assert (5, "schedules.0.layers.0.rotation.shift") in messages


@pytest.fixture
def config():
    return parse_config_text(GOOD)


def test_sync_is_idempotent_and_keeps_what_the_api_added(runtime, api, clock):
    assert api.post("/api/v1/users", json={"id": "erin", "contacts": ["json://127.0.0.1:9/erin"]}).status_code == 201
    before = api.get("/api/v1/config/oncall").json()
    clock.advance(minutes=5)
    sync(runtime)
    sync(runtime)
    after = api.get("/api/v1/config/oncall").json()
    assert before == after
    assert [u["id"] for u in after["users"]] == ["alice", "bob", "erin"]
    assert {u["id"]: u["source"] for u in api.get("/api/v1/users").json()} == {
        "alice": "config",
        "bob": "config",
        "erin": "api",
    }
    # A file that no longer declares bob (and what names him) removes him; erin stays.
    smaller = parse_config_text(
        "users:\n  - id: alice\n    contacts: ['json://127.0.0.1:9/alice']\n"
        "policies:\n  - id: default\n    levels:\n      - notify: [user:alice]\n"
    )
    runtime.config = smaller
    sync(runtime)
    assert [u["id"] for u in api.get("/api/v1/users").json()] == ["alice", "erin"]
    assert api.get("/api/v1/schedules").json() == []


def test_export_gives_back_a_file_that_checks(api, tmp_path: Path):
    api.post(
        "/api/v1/schedules",
        json={"id": "weekend", "layers": [{"rotation": {"participants": ["bob"], "shift": "1d", "handoff": "09:00"}}]},
    )
    exported = api.get("/api/v1/config/oncall").json()
    assert [s["id"] for s in exported["schedules"]] == ["primary", "weekend"]
    assert exported["users"][1]["contacts"][1]["url"] == "mailto://bob:****@example.test"
    parsed = parse_config_text(yaml.safe_dump(exported))
    assert [p.id for p in parsed.policies] == ["default"]
    assert parsed.policies[0].levels[1].when.category == "database"


def test_processes_starting_together_all_sync_without_error(runtime, database_url, tmp_path: Path, clock):
    with runtime.db.transaction() as session:
        for model in (service.Policy, service.Schedule, service.Team, service.OncallUser):
            session.query(model).delete()
    errors: list[BaseException] = []
    built: list[Runtime] = []

    def start() -> None:
        try:
            built.append(
                Runtime(
                    settings=Settings(data_dir=tmp_path, database_url=database_url),
                    config=parse_config_text(GOOD),
                    db=Database(database_url),
                    clock=clock,
                )
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with runtime.db.session() as session:
        assert [u.id for u in service.list_users(session)] == ["alice", "bob"]
        assert [p.id for p in service.list_policies(session)] == ["default"]
    for rt in built:
        rt.db.dispose()
