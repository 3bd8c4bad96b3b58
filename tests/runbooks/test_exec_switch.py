"""WARROOM_ALLOW_EXEC=false: the engine refuses to run runbook steps on the server, and says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.runbooks.test_server import run_url, start, step_in, write

from warroom.config import ConfigFile
from warroom.engine.worker import Engine

TOUCH = """
---
id: touch
title: Touch a file
services: [checkout]
---
# Touch a file

## Diagnosis
```bash
touch "$MARKER"
```
"""


@pytest.fixture
def marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "the-step-ran"
    monkeypatch.setenv("MARKER", str(path))
    return path


@pytest.fixture
def allow_exec() -> bool:
    return True


@pytest.fixture
def config(tmp_path: Path, allow_exec: bool, monkeypatch: pytest.MonkeyPatch) -> ConfigFile:
    # The environment is how an operator sets it; it is read when the runtime's settings are made.
    monkeypatch.setenv("WARROOM_ALLOW_EXEC", "true" if allow_exec else "false")
    folder = tmp_path / "runbooks"
    write(folder, "touch.md", TOUCH)
    return ConfigFile.model_validate({"runbooks": {"folders": [str(folder)]}})


def _run_the_step(api: Any, runtime: Any, make_incident: Any) -> dict[str, Any]:
    incident = make_incident(services=["checkout"])
    run = start(api, incident.number, "touch")
    step = step_in(run, "Diagnosis")
    assert api.post(run_url(incident.number, run, step, "run"), json={}).status_code == 202
    Engine(runtime).run_due()
    return step_in(api.get(run_url(incident.number, run)).json(), "Diagnosis")


@pytest.mark.parametrize("allow_exec", [False])
def test_steps_are_refused_when_exec_is_off(api, runtime, make_incident, marker):
    step = _run_the_step(api, runtime, make_incident)
    assert step["state"] == "failed"
    assert step["note"] == "not run: runbook steps are turned off on this server (WARROOM_ALLOW_EXEC=false)"
    assert not marker.exists()


def test_steps_run_when_exec_is_on(api, runtime, make_incident, marker):
    step = _run_the_step(api, runtime, make_incident)
    assert step["state"] == "succeeded" and marker.exists()
