"""Two identical payloads at the same instant: one alert and one incident, within a process and across two."""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy import func, select

from warroom.alerts import integrations, pipeline, store
from warroom.alerts.formats import parser_for
from warroom.alerts.models import Alert
from warroom.app import create_app
from warroom.db import Database
from warroom.incidents.models import Incident, TimelineEvent
from warroom.runtime import Runtime

from .conftest import am_alert, am_payload


def fire_together(urls: list[str], payloads: list[dict]) -> list[int]:
    """POST payloads[i] to urls[i] from one thread each, released at the same instant."""
    barrier = threading.Barrier(len(payloads))
    statuses: list[int] = [0] * len(payloads)

    def send(index: int) -> None:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            statuses[index] = client.post(urls[index], json=payloads[index]).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.db.session() as session:
        alerts = session.scalar(select(func.count(Alert.id)))
        incidents = session.scalar(select(func.count(Incident.id)))
    return int(alerts or 0), int(incidents or 0)


def test_identical_payloads_at_the_same_instant(live_server, make_integration, runtime):
    key = make_integration()
    payload = am_payload(am_alert(service="checkout"))
    statuses = fire_together([f"{live_server.url}/api/v1/intake/{key}"] * 8, [payload] * 8)
    assert statuses == [200] * 8
    assert counts(runtime) == (1, 1)


@pytest.fixture
def second_server(runtime, database_url, clock, config, live_server):
    """Another warroom process on the same database: its own engine, pool and intake writer."""
    other = Runtime(settings=runtime.settings, config=config, db=Database(database_url), clock=clock)
    with type(live_server)(create_app(other)) as server:
        yield server
    other.db.dispose()


def test_two_writers_on_one_database_open_one_incident(live_server, second_server, make_integration, runtime):
    key = make_integration()
    same = am_payload(am_alert(service="checkout"))
    # Different alerts of one new group (same alertname, different instance): one incident, two alerts.
    group = [am_payload(am_alert("Saturated", service="db", instance=f"db-{i}")) for i in range(6)]
    urls = [f"{server.url}/api/v1/intake/{key}" for server in (live_server, second_server)]
    statuses = fire_together(urls * 2 + urls * 3, [same] * 4 + group)
    assert statuses == [200] * 10
    assert counts(runtime) == (7, 2)
    with runtime.db.session() as session:
        per_incident = dict(
            session.execute(select(Alert.incident_id, func.count(Alert.id)).group_by(Alert.incident_id)).all()
        )
    assert sorted(per_incident.values()) == [1, 6]


@pytest.mark.backend("postgresql")
def test_an_alert_created_by_another_writer_meanwhile_is_taken_as_a_repeat(runtime, make_integration, monkeypatch):
    """On PostgreSQL new alerts are inserted at the end of the batch. When another writer has committed one of
    them in between, the batch is done again from its savepoint, the alert taken as the repeat it now is:
    still one alert, one incident and one attach event, and the receipts of both writers counted."""
    make_integration()
    alerts = parser_for("alertmanager")(am_payload(am_alert(service="checkout", fingerprint="fp-1")), {})
    original = store.insert_rows
    attempts: list[int] = []

    def other_writer_first(session, rows):  # type: ignore[no-untyped-def]
        attempts.append(len(rows))
        with runtime.db.transaction() as other:  # another connection, committed before this batch inserts
            integration = integrations.get_integration(other, "prod-alertmanager")
            other.execute(
                store.INSERT_PLACED_ALERTS,
                store.ALL_COLUMNS.params(
                    [
                        {name: getattr(rows[0], name) for name in store.ALL_COLUMNS.columns}
                        | {"id": 10_000, "incident_id": None, "integration_id": integration.id}
                    ]
                ),
            )
        return original(session, rows)

    monkeypatch.setattr(store, "insert_rows", other_writer_first)
    with runtime.db.transaction() as session:
        integration = integrations.get_integration(session, "prod-alertmanager")
        result = pipeline.ingest_alerts(session, runtime, integration, alerts, now=runtime.clock.now())
    assert attempts == [1]  # the second pass inserted nothing: the alert was there
    assert [(o.alert_id, o.action) for o in result.outcomes] == [(10_000, "repeated")]
    assert counts(runtime) == (1, 1)
    with runtime.db.session() as session:
        stored = session.get(Alert, 10_000)
        attached = session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "alert_attached")).all()
    assert stored is not None and stored.received == 2 and stored.incident_id == result.outcomes[0].incident
    assert len(attached) == 1
