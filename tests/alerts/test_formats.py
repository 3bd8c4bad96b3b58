"""Each sender's payload read the way real senders write it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from warroom.alerts.formats import FormatError, parse_time, parser_for
from warroom.alerts.formats.pagerduty import PagerDutyInvalid
from warroom.alerts.routing import fingerprint_of

from .conftest import am_alert, am_payload


def test_alertmanager_times_with_nanoseconds_offsets_and_go_zero_time():
    [alert] = parser_for("alertmanager")(am_payload(am_alert(service="api")), {})
    assert alert.starts_at == datetime(2026, 1, 5, 7, 59, 30, 123456, tzinfo=UTC)
    assert alert.ends_at is None  # 0001-01-01T00:00:00Z means "still firing"
    assert alert.status == "firing"
    assert alert.labels == {"alertname": "HighErrorRate", "severity": "critical", "service": "api"}
    assert alert.generator_url.startswith("http://prometheus")
    assert alert.raw["startsAt"] == "2026-01-05T08:59:30.123456789+01:00"


def test_alert_status_wins_over_the_group_status():
    payload = am_payload(am_alert("A"), am_alert("B", status="resolved", ends_at="2026-01-05T09:01:02.5Z"))
    assert payload["status"] == "firing"
    alerts = parser_for("alertmanager")(payload, {})
    assert [a.status for a in alerts] == ["firing", "resolved"]
    assert alerts[1].ends_at == datetime(2026, 1, 5, 9, 1, 2, 500000, tzinfo=UTC)


def test_missing_fingerprint_is_computed_the_same_way_each_time():
    assert fingerprint_of({"b": "2", "a": "1"}) == fingerprint_of({"a": "1", "b": "2"})
    assert fingerprint_of({"a": "1"}) != fingerprint_of({"a": "2"})
    [alert] = parser_for("alertmanager")(am_payload(am_alert()), {})
    assert alert.fingerprint is None
    [given] = parser_for("alertmanager")(am_payload(am_alert(fingerprint="c0ffee")), {})
    assert given.fingerprint == "c0ffee"


def test_unsupported_version_says_which_are_supported():
    payload = am_payload(am_alert())
    payload["version"] = "3"
    with pytest.raises(FormatError) as info:
        parser_for("alertmanager")(payload, {})
    assert info.value.field == "version"
    assert info.value.reason == "unsupported_version"
    assert "warroom accepts version 4" in info.value.message


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"version": "4"}, "alerts"),
        ({"version": "4", "alerts": [{"status": "firing", "labels": {}}]}, "alerts.0.labels"),
        ({"version": "4", "alerts": [{"status": "weird", "labels": {"a": "b"}}]}, "alerts.0.status"),
        ({"version": "4", "alerts": [{"labels": {"a": "b"}, "startsAt": "yesterday"}]}, "alerts.0.startsAt"),
        ([1, 2], ""),
    ],
)
def test_wrong_shapes_name_the_field(payload, field):
    with pytest.raises(FormatError) as info:
        parser_for("alertmanager")(payload, {})
    assert info.value.field == field


def test_parse_time_accepts_what_senders_send():
    assert parse_time("2026-01-05T09:00:00Z", "t") == datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert parse_time("2026-01-05T10:00:00.999999999+01:00", "t") == datetime(2026, 1, 5, 9, 0, 0, 999999, tzinfo=UTC)
    assert parse_time("0001-01-01T00:00:00Z", "t") is None
    assert parse_time(1767603600, "t") == datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert parse_time(None, "t") is None


def test_grafana_unified_alerting_payload():
    payload = {
        "receiver": "warroom",
        "status": "firing",
        "orgId": 1,
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "CPU high", "grafana_folder": "infra", "severity": "warning"},
                "annotations": {"summary": "CPU above 90% on web-1"},
                "startsAt": "2026-01-05T08:58:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://grafana/alerting/grafana/abc/view",
                "fingerprint": "a1b2c3d4",
                "silenceURL": "http://grafana/alerting/silence/new",
                "dashboardURL": "http://grafana/d/xyz",
                "panelURL": "http://grafana/d/xyz?viewPanel=2",
                "values": {"B": 93.5},
                "valueString": "[ var='B' value=93.5 ]",
            }
        ],
        "groupLabels": {"alertname": "CPU high"},
        "commonLabels": {"alertname": "CPU high"},
        "commonAnnotations": {},
        "externalURL": "http://grafana/",
        "version": "1",
        "groupKey": '{}:{alertname="CPU high"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1] CPU high",
        "state": "alerting",
        "message": "**Firing** ...",
    }
    [alert] = parser_for("grafana")(payload, {})
    assert alert.fingerprint == "a1b2c3d4"
    assert alert.annotations["dashboardURL"] == "http://grafana/d/xyz"
    assert alert.labels["severity"] == "warning"
    assert alert.raw["values"] == {"B": 93.5}


def test_pagerduty_trigger_becomes_one_alert_keyed_by_dedup_key():
    event = {
        "routing_key": "k" * 32,
        "event_action": "trigger",
        "dedup_key": "disk-db-1",
        "payload": {
            "summary": "Disk 95% full on db-1",
            "source": "db-1",
            "severity": "critical",
            "component": "postgres",
            "group": "prod-db",
            "class": "disk",
            "custom_details": {"free_gb": 3, "mount": "/var"},
        },
        "client": "Nagios",
    }
    [alert] = parser_for("pagerduty")(event, {})
    assert alert.fingerprint == "disk-db-1"
    assert alert.status == "firing"
    assert alert.labels == {
        "alertname": "disk",
        "severity": "critical",
        "source": "db-1",
        "component": "postgres",
        "group": "prod-db",
        "class": "disk",
    }
    assert alert.annotations["summary"] == "Disk 95% full on db-1"
    assert alert.annotations["details.free_gb"] == "3"
    assert "routing_key" not in alert.raw  # the key is never stored


def test_pagerduty_invalid_events_list_every_problem():
    with pytest.raises(PagerDutyInvalid) as info:
        parser_for("pagerduty")({"event_action": "trigger", "payload": {"severity": "urgent"}}, {})
    assert info.value.errors == [
        "'payload.summary' is missing or blank",
        "'payload.source' is missing or blank",
        "'payload.severity' is invalid (must be one of: critical, error, warning, info)",
    ]
    with pytest.raises(PagerDutyInvalid) as info:
        parser_for("pagerduty")({"event_action": "resolve"}, {})
    assert info.value.errors == ["'dedup_key' is missing or blank"]
    with pytest.raises(PagerDutyInvalid) as info:
        parser_for("pagerduty")({"event_action": "explode", "dedup_key": "x"}, {})
    assert "event_action" in info.value.errors[0]


def test_generic_default_shape_needs_no_mapping():
    [alert] = parser_for("generic")(
        {"title": "Queue backlog", "status": "ok", "fingerprint": "q1", "severity": "warning", "labels": {"team": "x"}},
        {},
    )
    assert alert.status == "resolved"
    assert alert.fingerprint == "q1"
    assert alert.labels == {"team": "x", "alertname": "Queue backlog", "severity": "warning"}
    assert alert.annotations["summary"] == "Queue backlog"


def test_generic_mapping_with_dotted_paths_and_status_map():
    mapping = {
        "alerts": "data.checks",
        "title": "check.name",
        "status": "state",
        "fingerprint": "check.id",
        "labels": "check.tags",
        "severity": "check.level",
        "status_map": {"CRIT": "firing", "GOOD": "resolved"},
    }
    body = {
        "data": {
            "checks": [
                {
                    "check": {"name": "api latency", "id": 7, "tags": {"service": "api"}, "level": "high"},
                    "state": "CRIT",
                },
                {"check": {"name": "db latency", "id": 8, "tags": {}, "level": "info"}, "state": "GOOD"},
            ]
        }
    }
    first, second = parser_for("generic")(body, {"mapping": mapping})
    assert (first.fingerprint, first.status, first.labels["service"], first.labels["severity"]) == (
        "7",
        "firing",
        "api",
        "high",
    )
    assert (second.fingerprint, second.status) == ("8", "resolved")
    with pytest.raises(FormatError) as info:
        parser_for("generic")({"data": {"checks": [{"state": "CRIT"}]}}, {"mapping": mapping})
    assert info.value.field == "data.checks.0.check.name"
