"""Fixtures of the status page tests: a warroom.yaml with components and groups, the engine, receivers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.oncall.conftest import engine, webhook
from tests.oncall.helpers import Webhook, oncall_config
from warroom.config import ConfigFile
from warroom.statuspage import service as statuspage

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
