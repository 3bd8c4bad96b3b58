"""`warroom drill run` as an operator runs it against a real `warroom serve`: the scenario's break command
breaks a real local service, the server's monitor notices, the page (DRILL) reaches a real webhook, a person
acknowledges by the link and repairs with the runbook, and the command ends with the drill report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import yaml

from tests.conftest import free_port
from tests.drills.conftest import RUNBOOK
from tests.peers import wait_answering

WARROOM = [sys.executable, "-m", "warroom"]


def _config(webhook, shop, folder: Path) -> Path:
    books = folder / "runbooks"
    books.mkdir()
    (books / "shop-down.md").write_text(RUNBOOK, encoding="utf-8")
    config = {
        "services": [{"name": "shop"}],
        "monitors": [
            {
                "name": "shop",
                "service": "shop",
                "type": "http",
                "url": shop.url,
                "interval": "1s",
                "timeout": "1s",
                "expect": {"status": [200]},
                "severity": "P2",
            }
        ],
        "routes": [
            {
                "name": "shop",
                "match": ['service="shop"'],
                "group_by": ["service"],
                "policy": "shop",
                "runbook": "shop-down",
            }
        ],
        "users": [{"id": "alice", "contacts": [webhook.url("alice")]}],
        "schedules": [{"id": "primary", "layers": [{"rotation": {"participants": ["alice"], "shift": "1w"}}]}],
        "policies": [{"id": "shop", "levels": [{"notify": ["schedule:primary"], "escalate_after": "10m"}]}],
        "runbooks": {"folders": [str(books)], "workdir": str(shop.folder)},
    }
    path = folder / "warroom.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def server(tmp_path, webhook, shop) -> Iterator[tuple[str, str]]:
    """A real `warroom serve` (SQLite, engine on) and its admin token."""
    port, data = free_port(), tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update(WARROOM_CONFIG=str(_config(webhook, shop, tmp_path)), WARROOM_LOG_LEVEL="warning")
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*WARROOM, "serve", "--port", str(port), "--data-dir", str(data)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_answering(f"{url}/ready", process, 60, log_path.read_text)
        yield url, (data / "admin-token").read_text(encoding="utf-8").strip()
    finally:
        process.terminate()
        process.wait(timeout=30)


def _until(what: str, probe, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def test_drill_run_breaks_the_service_follows_the_loop_and_reports(tmp_path, server, webhook, shop):
    url, token = server
    scenario = tmp_path / "shop-down.yaml"
    scenario.write_text(
        yaml.safe_dump(
            {
                "name": "shop-down",
                "services": ["shop"],
                "break": {"argv": ["touch", str(shop.fault)]},
                "runbook": "shop-down",
                "policy": "shop",
                "targets": {"detect": "1m", "acknowledge": "5m", "recover": "10m"},
                "timeout": "5m",
            }
        ),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update(WARROOM_URL=url, WARROOM_TOKEN=token, COLUMNS="200")
    command = subprocess.Popen(
        [*WARROOM, "drill", "run", str(scenario), "--timeout", "90s", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        (page,) = webhook.wait_for(1, timeout=30)
        assert not shop.healthy()  # the scenario's command broke it
        assert page.title.startswith("DRILL: ") and "DRILL: this is a drill" in page.body
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert httpx.post(url + urlparse(page.link("acknowledge")).path, timeout=10).status_code == 200
        (incident,) = api.get("/api/v1/incidents").json()["items"]
        assert incident["drill"] is True
        number = incident["number"]
        run = api.post(f"/api/v1/incidents/{number}/runbook-runs", json={"runbook": "shop-down"}).json()
        step = next(s for s in run["steps"] if s["kind"] == "command")
        api.post(f"/api/v1/incidents/{number}/runbook-runs/{run['id']}/steps/{step['id']}/run", json={})
        _until("the runbook repairing the service", shop.healthy)
        assert api.post(f"/api/v1/incidents/{number}/resolve", json={"message": "repaired"}).status_code == 200
        out, err = command.communicate(timeout=60)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    assert command.returncode == 0, err
    drill = json.loads(out)
    assert drill["state"] == "finished" and drill["incident"] == number
    report = drill["report"]
    measures = {m["name"]: m for m in report["measures"]}
    assert measures["detect"]["state"] == "met" and 0 < measures["detect"]["seconds"] < 60
    assert measures["acknowledge"]["state"] == "met" and measures["recover"]["state"] == "met"
    assert any(a["who"] == "alice" for a in report["answered"])
    assert [(s["runbook"], s["outcome"]) for s in report["steps"]] == [("shop-down", "succeeded")]
    assert all(c["ok"] for c in report["checks"]), report["checks"]
    shown = subprocess.run(
        [*WARROOM, "drill", "show", str(drill["id"])], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert f"Drill #{drill['id']} shop-down — finished, incident #{number} [P2]" in shown
    assert "ok   paged through policy shop (seen: shop)" in shown and "ok   runbook shop-down ran" in shown
    assert "Clear the fault the shop is stuck on" in shown  # the step run, by its description


def test_a_bad_scenario_file_is_one_line_naming_the_field(tmp_path):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("name: x\nservices: [shop]\nbreak: {argv: []}\n", encoding="utf-8")
    done = subprocess.run(
        [*WARROOM, "drill", "run", str(scenario)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == f"error: {scenario}: break.argv: List should have at least 1 item after validation, not 0"
    )


def test_a_bad_timeout_is_a_usage_error_and_nothing_starts(tmp_path):
    scenario = tmp_path / "ok.yaml"
    scenario.write_text("name: x\nservices: [shop]\nbreak: {argv: [touch, broken]}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env["WARROOM_URL"] = f"http://127.0.0.1:{free_port()}"  # nobody listens: the command must stop before
    done = subprocess.run(
        [*WARROOM, "drill", "run", str(scenario), "--timeout", "soon"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: --timeout: invalid duration 'soon'")
    assert not (tmp_path / "broken").exists()  # nothing was broken
