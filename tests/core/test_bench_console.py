"""The console bench's data set: the big incident reads back through the API as the app computes it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "console.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_console", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_seeded_incidents_and_the_big_one_read_back_through_the_api(bench, runtime, api, clock):
    incidents, events = bench.seed(runtime.db.url, 300, 5, 400, clock.now(), 3)
    assert (incidents, events) == (300, 299 * 5 + 400)

    big = api.get("/api/v1/incidents/300").json()
    assert big["status"] == "investigating" and big["severity"] == "P1"
    assert len(big["timeline"]) == 400
    assert big["timeline"][0]["kind"] == "declared"
    assert big["milestones"]["acknowledged"] is not None  # the app reads the lifecycle off the timeline
    # The sequences continue after the loaded rows (PostgreSQL): the app can write the next event.
    note = api.post("/api/v1/incidents/300/notes", json={"message": "after the load"})
    assert note.status_code == 201 and note.json()["id"] == events + 1
