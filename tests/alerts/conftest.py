"""Fixtures of the alerts tests: integrations with keys, Alertmanager payloads, an engine on the fake clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from warroom.alerts import integrations
from warroom.engine.worker import Engine
from warroom.incidents import timeline
from warroom.runtime import Runtime


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: runs real Prometheus and Alertmanager (deselect with -m 'not e2e'; runs by default)"
    )


@pytest.fixture
def make_integration(runtime: Runtime) -> Callable[..., str]:
    """Create an integration through the service; returns its key."""

    def make(name: str = "prod-alertmanager", type: str = "alertmanager", **kwargs: Any) -> str:
        with runtime.db.transaction() as session:
            _, key = integrations.create_integration(
                session, name=name, type=type, created_by="tests", now=runtime.clock.now(), **kwargs
            )
        return key

    return make


@pytest.fixture
def sender(app: Any) -> TestClient:
    """An HTTP client without any warroom token (senders only have their integration key)."""
    client = TestClient(app, raise_server_exceptions=False)
    yield client
    client.close()


def am_alert(
    alertname: str = "HighErrorRate",
    status: str = "firing",
    *,
    fingerprint: str | None = None,
    severity: str = "critical",
    summary: str | None = None,
    starts_at: str = "2026-01-05T08:59:30.123456789+01:00",
    ends_at: str = "0001-01-01T00:00:00Z",
    **labels: str,
) -> dict[str, Any]:
    """One alert as Alertmanager 0.25 sends it."""
    item: dict[str, Any] = {
        "status": status,
        "labels": {"alertname": alertname, "severity": severity, **labels},
        "annotations": {"summary": summary or f"{alertname} on {labels.get('service', 'checkout')}"},
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
    }
    if fingerprint is not None:
        item["fingerprint"] = fingerprint
    return item


def am_payload(*alerts: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    """An Alertmanager webhook (version 4) carrying `alerts`."""
    group_status = status or ("firing" if any(a["status"] == "firing" for a in alerts) else "resolved")
    return {
        "receiver": "warroom",
        "status": group_status,
        "alerts": list(alerts),
        "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]} if alerts else {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
    }


@pytest.fixture
def engine(runtime: Runtime) -> Engine:
    """An engine to run due jobs synchronously (with the fake clock)."""
    return Engine(runtime)


def kinds(runtime: Runtime, number: int) -> list[str]:
    """The kinds of an incident's timeline events, in order."""
    with runtime.db.session() as session:
        return [e.kind for e in timeline.events(session, number)]


def events(runtime: Runtime, number: int) -> list[Any]:
    """An incident's timeline events."""
    with runtime.db.session() as session:
        return timeline.events(session, number)


def incident(api: TestClient, number: int) -> dict[str, Any]:
    """An incident through the API."""
    response = api.get(f"/api/v1/incidents/{number}")
    assert response.status_code == 200, response.text
    return response.json()


def iso(value: datetime) -> str:
    """RFC 3339 text."""
    return value.isoformat()
