"""Hostile input to the Alerts, On call and Monitors pages: a 4xx page naming the field, never a 500."""

from __future__ import annotations

import pytest

from tests.web.test_monitors_page import add
from tests.web.test_oncall_page import config, engine, webhook

pytestmark = pytest.mark.backend("sqlite", "postgresql")
__all__ = ["config", "engine", "webhook"]


def test_hostile_input_is_a_4xx_page(console_for, runtime):
    add(runtime, name="mem", type="memory")
    a = console_for("admin")
    cases = [
        ("get", "/alerts?silence=abc", None),
        ("get", "/alerts?silence=99999999999999999999999", None),
        ("get", "/oncall/test?" + "&".join(f"id=x{i}" for i in range(50)), None),
        ("post", "/alerts/maintenance", {"service": "db", "starts_at": "9999-12-31T23:00", "duration": "2h"}),
        ("post", "/alerts/maintenance", {"service": "db", "starts_at": "0001-01-01T00:00", "duration": "2h"}),
        ("post", "/alerts/maintenance", {"service": "db", "duration": "100y"}),
        ("post", "/alerts/maintenance", {"service": "db", "duration": "36500d", "weekly": "maybe"}),
        ("post", "/alerts/silences", {"matchers": "a=b", "duration": "36000d"}),
        ("post", "/alerts/silences", {"matchers": "a=b\x00", "duration": "1h"}),
        (
            "post",
            "/oncall/overrides",
            {"schedule": "primary", "who": "carol", "starts": "9999-12-31T23:59", "ends": "+1h"},
        ),
        (
            "post",
            "/oncall/overrides",
            {"schedule": "primary", "who": "carol", "starts": "0001-01-01T00:00", "ends": "-1h"},
        ),
        ("post", "/oncall/overrides", {"schedule": "primary", "who": "carol", "starts": "now", "ends": "+99999w"}),
        ("post", "/oncall/overrides", {"schedule": "primary\x00", "who": "carol", "ends": "+1h"}),
        ("post", "/monitors/%00/pause", {}),
        ("post", "/monitors/" + "x" * 300 + "/pause", {}),
        ("post", "/alerts/silences/999999999999999999999/expire", {}),
    ]
    for method, path, data in cases:
        r = a.get(path) if method == "get" else a.act(path, data)
        assert 400 <= r.status_code < 500, (path, data, r.status_code, r.text[-300:])
    long_id = a.get("/oncall/test?id=" + "x" * 5000)  # cut to 40 characters: a notification no one has
    assert long_id.status_code == 200 and "No test message found." in long_id.text
