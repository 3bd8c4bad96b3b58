"""The lifecycle README promises, written out pair by pair and checked through the API on both backends.

Not derived from `warroom.incidents.lifecycle.ALLOWED`: a wrong entry there must fail a row here instead of
deleting its own test. README, "Lifecycle": triggered → acknowledged → investigating → identified → monitoring
→ resolved, and reopen (back to investigating). Any open status may move forward or to resolved; identified and
monitoring may go back to investigating, and monitoring back to identified.
"""

from __future__ import annotations

import itertools

import pytest

ORDER = ["triggered", "acknowledged", "investigating", "identified", "monitoring", "resolved"]

# current → the statuses a PATCH may move it to. Everything else answers 409.
DOCUMENTED: dict[str, set[str]] = {
    "triggered": {"acknowledged", "investigating", "identified", "monitoring", "resolved"},
    "acknowledged": {"investigating", "identified", "monitoring", "resolved"},
    "investigating": {"identified", "monitoring", "resolved"},
    "identified": {"investigating", "monitoring", "resolved"},
    "monitoring": {"investigating", "identified", "resolved"},
    "resolved": set(),  # only through reopen
}

# How the test brings a fresh incident to each status (each step is itself an allowed move).
PATH: dict[str, list[str]] = {
    "triggered": [],
    "acknowledged": ["acknowledged"],
    "investigating": ["investigating"],
    "identified": ["identified"],
    "monitoring": ["monitoring"],
    "resolved": ["resolved"],
}

PAIRS = list(itertools.product(ORDER, ORDER))


def _declare_at(api, current: str) -> int:
    created = api.post("/api/v1/incidents", json={"title": "Checkout API 502s", "severity": "P2"})
    assert created.status_code == 201, created.text
    number = int(created.json()["number"])
    for status in PATH[current]:
        moved = api.patch(f"/api/v1/incidents/{number}", json={"status": status})
        assert moved.status_code == 200, moved.text
    return number


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_documented_lifecycle(api, current: str, target: str):
    number = _declare_at(api, current)
    response = api.patch(f"/api/v1/incidents/{number}", json={"status": target})
    after = api.get(f"/api/v1/incidents/{number}").json()["status"]
    if target in DOCUMENTED[current]:
        assert response.status_code == 200, f"{current} → {target} is documented as allowed: {response.text}"
        assert after == target
        return
    assert response.status_code == 409, f"{current} → {target} is not documented: {response.status_code}"
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in problem["errors"]] == ["status"]
    if current == "resolved":
        assert "reopen it first" in problem["detail"]
    else:
        # The refusal names exactly the documented next statuses, in lifecycle order.
        allowed = [s for s in ORDER if s in DOCUMENTED[current]]
        assert problem["detail"].endswith(f"Allowed next: {', '.join(allowed)}."), problem["detail"]
    assert after == current


def test_reopen_brings_a_resolved_incident_back_to_investigating_only(api):
    number = _declare_at(api, "resolved")
    reopened = api.post(f"/api/v1/incidents/{number}/reopen", json={"message": "It is back"})
    assert reopened.status_code == 200, reopened.text
    assert api.get(f"/api/v1/incidents/{number}").json()["status"] == "investigating"
    for current in ORDER[:-1]:
        number = _declare_at(api, current)
        refused = api.post(f"/api/v1/incidents/{number}/reopen", json={})
        assert refused.status_code == 409, (current, refused.text)
        assert api.get(f"/api/v1/incidents/{number}").json()["status"] == current
