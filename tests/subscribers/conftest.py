"""Fixtures of the subscriber tests: a stand-in for the status domain's public updates, real receivers."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from tests.subscribers.receivers import Hook, SmtpBox
from warroom.auth.actor import Actor, Role
from warroom.config import ConfigFile
from warroom.engine.worker import Engine
from warroom.incidents import timeline
from warroom.incidents.models import Incident
from warroom.runtime import Runtime
from warroom.statuspage.snapshot import PublicComponent, PublicIncident, PublicUpdate
from warroom.statuspage.subscriber_source import set_source

COMPONENTS = ("api", "web", "checkout")


class FakeSource:
    """What the status domain would answer: public incidents and updates by id, and the components."""

    def __init__(self) -> None:
        self.updates: dict[str, tuple[PublicIncident, PublicUpdate]] = {}
        self.components: list[PublicComponent] = []

    def public_update(self, session: Session, update_id: str) -> tuple[PublicIncident, PublicUpdate] | None:
        return self.updates.get(update_id)

    def component_choices(self, session: Session) -> Sequence[tuple[str, str]]:
        return [(c.id, c.name) for c in self.components]


@pytest.fixture
def smtp() -> Iterator[SmtpBox]:
    """A real SMTP server on 127.0.0.1."""
    box = SmtpBox().start()
    yield box
    box.stop()


@pytest.fixture
def hook() -> Iterator[Hook]:
    """A real webhook receiver on 127.0.0.1."""
    receiver = Hook().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def config(smtp: SmtpBox) -> ConfigFile:
    """A warroom.yaml whose subscriber email goes to the local SMTP server."""
    return ConfigFile.model_validate(
        {
            "status_page": {
                "subscribers": {
                    "smtp": {"host": "127.0.0.1", "port": smtp.port, "from": "status@acme.test"},
                    "rate_limit": {"requests": 5, "per": "10m"},
                    "batch": 3,
                    "retry_for": "30m",
                }
            }
        }
    )


@pytest.fixture
def source(runtime: Runtime, clock: Any) -> FakeSource:
    """The stand-in status domain, registered on the runtime."""
    fake = FakeSource()
    now = clock.now()
    fake.components = [
        PublicComponent(
            id=c,
            name=c.capitalize(),
            description="",
            status="operational",
            position=i,
            group_id=None,
            created_at=now,
            updated_at=now,
        )
        for i, c in enumerate(COMPONENTS)
    ]
    set_source(runtime, fake)
    return fake


@pytest.fixture
def engine(runtime: Runtime) -> Engine:
    """An engine on the test runtime; `engine.run_due()` runs what is due."""
    return Engine(runtime)


@pytest.fixture
def public(client_for: Callable[..., TestClient]) -> TestClient:
    """A visitor of the public pages: no token."""
    return client_for(None)


@pytest.fixture
def publish(
    runtime: Runtime, source: FakeSource, make_incident: Callable[..., Incident], clock: Any
) -> Callable[..., PublicUpdate]:
    """Publish a public update the way the status domain does: its timeline event, committed."""
    incidents: dict[str, Incident] = {}
    counter = iter(range(1, 10_000))

    def make(
        body: str = "We are looking into slow checkouts.",
        *,
        status: str = "investigating",
        components: tuple[str, ...] = ("checkout",),
        incident: str = "inc-1",
    ) -> PublicUpdate:
        if incident not in incidents:
            incidents[incident] = make_incident(title=f"INTERNAL {incident}: db-7 replica lag, paged bob")
        now: datetime = clock.now()
        update = PublicUpdate(
            id=f"upd-{next(counter)}",
            status=status,
            body=body,
            created_at=now,
            display_at=now,  # type: ignore[arg-type]
            affected_component_ids=components,
        )
        earlier = source.updates.get(f"latest:{incident}")
        previous = earlier[0].updates if earlier else ()
        public_incident = PublicIncident(
            id=incident,
            kind="incident",
            name="Checkout is slow",
            status=status,
            impact="major",  # type: ignore[arg-type]
            created_at=now,
            updated_at=now,
            started_at=now,
            monitoring_at=None,
            resolved_at=now if status == "resolved" else None,
            component_ids=components,
            updates=(update, *previous),
        )
        source.updates[update.id] = (public_incident, update)
        source.updates[f"latest:{incident}"] = (public_incident, update)
        with runtime.db.transaction() as session:
            row = session.get(Incident, incidents[incident].id)
            assert row is not None
            timeline.append(
                session,
                row,
                kind="status_update_published",
                actor=Actor(name="alice", role=Role.RESPONDER),
                at=now,
                message=f"public update: {status}",
                data={"update_id": update.id, "status": status, "public": True},
            )
        return update

    return make
