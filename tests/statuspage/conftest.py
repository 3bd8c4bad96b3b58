"""Fixtures of the status page tests: a warroom.yaml with components and groups, the engine, receivers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.oncall.conftest import engine, webhook
from tests.oncall.helpers import Webhook, oncall_config
from tests.statuspage.facedata import past_incidents, sample_snapshot
from warroom.config import ConfigFile
from warroom.statuspage import service as statuspage
from warroom.statuspage.snapshot import PageSnapshot
from warroom.statuspage.source import FixedSource

__all__ = ["engine", "webhook"]

STATUS_PAGE: dict[str, Any] = {
    "name": "Acme status",
    "url": "https://status.example.com",
    "groups": [{"name": "Shop"}],
    "components": [
        {"name": "Checkout", "group": "Shop", "services": ["checkout"], "description": "Paying for orders"},
        {"name": "Search", "group": "Shop", "services": ["search"]},
        {"name": "Database", "services": ["postgres"]},
    ],
}


@pytest.fixture
def config(webhook: Webhook) -> ConfigFile:
    """People, a team with a channel (postgres), and the status page's components."""
    return oncall_config(webhook, status_page=STATUS_PAGE)


@pytest.fixture
def snapshot(runtime: Any) -> Callable[[], statuspage.PageSnapshot]:
    """The public snapshot as of the fake clock's now."""

    def take() -> statuspage.PageSnapshot:
        with runtime.db.session() as session:
            return statuspage.build_snapshot(session, settings=runtime.config.status_page, now=runtime.clock.now())

    return take


def statuses(snap: Any) -> dict[str, str]:
    """Component name → status."""
    return {c.name: c.status for c in snap.components}


# The public face (status-face): a FixedSource shows a sample snapshot, and an anonymous client reads it.


@pytest.fixture
def source(runtime: Any) -> FixedSource:
    """The page's source, set on the runtime before the app answers; versions are re-read on every request."""
    fixed = FixedSource(sample_snapshot(), past_incidents(45))
    runtime.extras["statuspage_source"] = fixed
    runtime.extras["statuspage_recheck"] = 0
    return fixed


@pytest.fixture
def public(app: Any, source: FixedSource) -> Iterator[TestClient]:
    """An anonymous client (no token) of the app."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def change(source: FixedSource) -> Callable[..., PageSnapshot]:
    """Change what the page shows (a new version), as publishing an update would."""

    def apply(**changes: Any) -> PageSnapshot:
        number = int(source.snapshot.version.lstrip("v")) + 1
        new = replace(
            source.snapshot,
            version=f"v{number}",
            updated_at=source.snapshot.updated_at + timedelta(minutes=1),
            **changes,
        )
        source.replace(new)
        return new

    return apply
