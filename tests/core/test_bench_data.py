"""The API bench's data set is what the app itself would have written, so its figures measure real answers."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

MOVES = ("acknowledged", "status_changed", "resolved")
BENCH = Path(__file__).resolve().parents[2] / "bench" / "api.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_api", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_generated_events_total_exactly_and_every_timeline_starts_declared(bench, clock):
    chunks = list(bench.generate(1_000, 10, clock.now(), seed=7))
    events = [e for c in chunks for e in c.events]
    assert len(events) == 10_000
    assert len({i["id"] for c in chunks for i in c.incidents}) == 1_000
    firsts = {}
    for event in events:
        firsts.setdefault(event["incident_id"], event["kind"])
    assert set(firsts.values()) == {"declared"}
    open_count = sum(i["status"] != "resolved" for c in chunks for i in c.incidents)
    assert 10 < open_count < 100  # mostly resolved, some open


def test_loaded_incidents_read_back_through_the_api_as_the_app_computes_them(bench, runtime, api, clock):
    incidents, events = bench.load(runtime.db.url, 300, 6, clock.now(), seed=3)
    assert (incidents, events) == (300, 1_800)

    page = api.get("/api/v1/incidents", params={"status": "open", "limit": 50}).json()
    assert page["items"] and all(item["status"] != "resolved" for item in page["items"])
    for number in range(1, 301, 7):
        body = api.get(f"/api/v1/incidents/{number}").json()
        stones = {k: v and datetime.fromisoformat(v) for k, v in body["milestones"].items()}
        columns = {k: body[k] and datetime.fromisoformat(body[k]) for k in body if k.endswith("_at")}
        # The milestones the app reads off the timeline agree with the incident's own columns.
        assert stones["started"] == columns["started_at"]
        assert stones["detected"] == columns["detected_at"]
        assert stones["acknowledged"] == columns["acknowledged_at"]
        assert stones["identified"] == columns["identified_at"]
        assert stones["mitigated"] == columns["mitigated_at"]
        assert stones["resolved"] == columns["resolved_at"]
        times = [datetime.fromisoformat(e["at"]) for e in body["timeline"]]
        assert times == sorted(times)
        moves = [e["data"]["to"] for e in body["timeline"] if e["kind"] in MOVES]
        assert (moves or ["triggered"])[-1] == body["status"]

    # New incidents continue the numbering after the loaded ones (sequences were moved on PostgreSQL).
    declared = api.post("/api/v1/incidents", json={"title": "After the load", "severity": "P3"})
    assert declared.json()["number"] == 301
