"""Fixtures of the drill tests: a real breakable HTTP service, a local webhook receiver, a runbook that repairs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.oncall.helpers import Webhook
from warroom.config import ConfigFile
from warroom.demo.service import BreakableService
from warroom.engine.worker import Engine

RUNBOOK = """---
id: shop-down
title: The shop is down
services: [shop]
---
# The shop is down

## Resolution

```bash
# Clear the fault the shop is stuck on
rm -f fault
```
"""


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A local webhook receiver (Apprise json://)."""
    receiver = Webhook().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[BreakableService]:
    """A real HTTP service on 127.0.0.1 whose /health fails while its fault file exists."""
    service = BreakableService(tmp_path / "shop").start()
    yield service
    service.stop()


@pytest.fixture
def engine(runtime: Any) -> Engine:
    """An engine on the test runtime; `engine.run_due()` after moving the clock."""
    return Engine(runtime)


def drill_config(webhook: Webhook, shop: BreakableService, tmp_path: Path, **extra: Any) -> ConfigFile:
    """Alice on call for the shop (pages to the local webhook), a route to the shop's policy and runbook."""
    books = tmp_path / "runbooks"
    books.mkdir(exist_ok=True)
    (books / "shop-down.md").write_text(RUNBOOK, encoding="utf-8")
    data: dict[str, Any] = {
        "services": [{"name": "shop"}],
        "routes": [
            {
                "name": "shop",
                "match": ['service="shop"'],
                "group_by": ["service"],
                "policy": "shop",
                "runbook": "shop-down",
            }
        ],
        "users": [
            {"id": "alice", "contacts": [webhook.url("alice")]},
            {
                "id": "bob",
                "contacts": [
                    {"label": "phone", "url": webhook.url("bob-phone")},
                    {"label": "pager", "url": "json://127.0.0.1:9/dead"},
                ],
            },
        ],
        "teams": [{"id": "shop-team", "members": ["alice", "bob"]}],
        "schedules": [{"id": "primary", "layers": [{"rotation": {"participants": ["alice"], "shift": "1w"}}]}],
        "policies": [{"id": "shop", "levels": [{"notify": ["schedule:primary"], "escalate_after": "10m"}]}],
        "runbooks": {"folders": [str(books)], "workdir": str(shop.folder)},
    }
    data.update(extra)
    return ConfigFile.model_validate(data)
