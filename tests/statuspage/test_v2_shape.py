"""warroom's Statuspage v2 JSON has the same keys and JSON types as real Statuspage pages' (recorded ones).

The recordings are GitHub's status page (tests/statuspage/recorded/README.md). Each object at a given place
(`incidents[].incident_updates[]`, `components[]`...) must have exactly the keys Statuspage sends there, and
each value one of the JSON types Statuspage sent for that key (null counts as a type: ours may be null only
where theirs was null somewhere, and where theirs is always null ours may be anything).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

RECORDED = Path(__file__).parent / "recorded"

# The public face renders what its source gives; it reads no table of its own, so one backend is enough.
pytestmark = pytest.mark.backend("sqlite")
# The recorded incidents are all resolved; Statuspage sends these as null until the incident gets there (an
# unresolved incident in summary.json has `resolved_at: null`), so null is allowed for them only.
NULL_UNTIL_REACHED = {"monitoring_at", "resolved_at"}


def kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}[type(value)]


class Shape:
    """What was seen at one place: JSON types, the keys of objects (per key, a Shape), array elements."""

    def __init__(self) -> None:
        self.types: set[str] = set()
        self.keys: dict[str, Shape] | None = None
        self.items: Shape | None = None

    def learn(self, value: Any) -> Shape:
        self.types.add(kind(value))
        if isinstance(value, dict):
            if self.keys is None:
                self.keys = {}
            for key, inner in value.items():
                self.keys.setdefault(key, Shape()).learn(inner)
        elif isinstance(value, list):
            if self.items is None:
                self.items = Shape()
            for inner in value:
                self.items.learn(inner)
        return self

    def check(self, value: Any, where: str, problems: list[str]) -> None:
        if self.types == {"null"}:
            return  # Statuspage only ever sent null here: it tells us no type
        if value is None and where.rsplit(".", 1)[-1] in NULL_UNTIL_REACHED:
            return
        if kind(value) not in self.types:
            problems.append(f"{where}: ours is {kind(value)}, Statuspage sends {sorted(self.types)}")
            return
        if isinstance(value, dict) and self.keys is not None:
            ours, theirs = set(value), set(self.keys)
            if ours - theirs:
                problems.append(f"{where}: keys Statuspage does not send: {sorted(ours - theirs)}")
            if theirs - ours:
                problems.append(f"{where}: keys Statuspage sends that we lack: {sorted(theirs - ours)}")
            for key in ours & theirs:
                self.keys[key].check(value[key], f"{where}.{key}", problems)
        if isinstance(value, list) and self.items is not None and self.items.types:
            for index, inner in enumerate(value):
                self.items.check(inner, f"{where}[{index}]", problems)


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


@pytest.fixture(scope="module")
def statuspage() -> dict[str, Shape]:
    """Shapes learnt from the recordings: the page, a component, an incident (with updates), a status."""
    summary = recorded("github-summary.json")
    incidents = recorded("github-incidents.json")
    critical = recorded("github-incident-actions-critical.json")
    incident = Shape()
    for item in [*incidents["incidents"], critical]:
        incident.learn(item)
    component = Shape()
    for item in summary["components"]:
        component.learn(item)
    for item in incidents["incidents"]:
        for c in item["components"]:
            component.learn(c)
    return {
        "page": Shape().learn(summary["page"]).learn(incidents["page"]),
        "component": component,
        "incident": incident,
        "status": Shape().learn(summary["status"]),
        "summary": Shape().learn(summary),
    }


def test_recordings_are_real_statuspage_bodies(statuspage):
    # The recordings themselves say what we test against: GitHub's page, its incidents with their updates.
    assert statuspage["summary"].keys is not None
    assert set(statuspage["summary"].keys) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert statuspage["incident"].keys is not None and "incident_updates" in statuspage["incident"].keys
    assert len(recorded("github-incidents.json")["incidents"]) == 50


def _check(shape: Shape, value: Any, where: str) -> list[str]:
    problems: list[str] = []
    shape.check(value, where, problems)
    return problems


def _check_body(statuspage: dict[str, Shape], body: dict[str, Any], lists: dict[str, str]) -> list[str]:
    problems = _check(statuspage["page"], body["page"], "page")
    for key, what in lists.items():
        assert body[key], f"{key} is empty: the test would check nothing"
        for index, item in enumerate(body[key]):
            if what == "component" and item.get("group"):
                # A group is a component with its members' ids (Statuspage's documentation; GitHub has none).
                item = {k: v for k, v in item.items() if k != "components"}
                assert isinstance(body[key][index]["components"], list)
            shape = statuspage["incident" if what == "maintenance" else what]
            if what == "maintenance":
                assert set(item) - set(statuspage["incident"].keys or {}) == {"scheduled_for", "scheduled_until"}
                assert isinstance(item["scheduled_for"], str) and isinstance(item["scheduled_until"], str)
                item = {k: v for k, v in item.items() if k not in ("scheduled_for", "scheduled_until")}
            problems += _check(shape, item, f"{key}[{index}]")
    return problems


def test_summary_has_statuspage_keys_and_types(public, statuspage):
    body = public.get("/api/v2/summary.json").json()
    assert set(body) == set(statuspage["summary"].keys or {})
    problems = _check_body(
        statuspage, body, {"components": "component", "incidents": "incident", "scheduled_maintenances": "maintenance"}
    )
    problems += _check(statuspage["status"], body["status"], "status")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("path", "lists"),
    [
        ("/api/v2/components.json", {"components": "component"}),
        ("/api/v2/incidents.json", {"incidents": "incident"}),
        ("/api/v2/incidents/unresolved.json", {"incidents": "incident"}),
        ("/api/v2/scheduled-maintenances.json", {"scheduled_maintenances": "maintenance"}),
        ("/api/v2/scheduled-maintenances/upcoming.json", {"scheduled_maintenances": "maintenance"}),
        ("/api/v2/scheduled-maintenances/active.json", {"scheduled_maintenances": "maintenance"}),
    ],
)
def test_each_list_route_has_statuspage_keys_and_types(public, statuspage, path, lists):
    body = public.get(path).json()
    assert set(body) == {"page", *lists}
    problems = _check_body(statuspage, body, lists)
    assert not problems, "\n".join(problems)


def test_status_json_is_page_and_status(public, statuspage):
    body = public.get("/api/v2/status.json").json()
    assert set(body) == {"page", "status"}
    assert not _check(statuspage["page"], body["page"], "page") + _check(statuspage["status"], body["status"], "status")
    assert body["status"] == {"indicator": "major", "description": "Partial System Outage"}


def test_timestamps_are_written_like_statuspage(public):
    # Statuspage writes UTC with milliseconds and a Z; parsers built for it (Date, strptime patterns) expect it.
    theirs = recorded("github-summary.json")["page"]["updated_at"]
    ours = public.get("/api/v2/summary.json").json()["page"]["updated_at"]
    assert len(ours) == len(theirs) and ours[-1] == theirs[-1] == "Z" and ours[19] == theirs[19] == "."
