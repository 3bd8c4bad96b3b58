"""Fixtures of the post-mortem tests: a warroom.yaml with people reachable at a local webhook, and an engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.oncall.helpers import Webhook
from warroom.config import parse_config_text
from warroom.engine.worker import Engine

RUNBOOK = """---
id: checkout-down
services: [checkout]
---
# Checkout down

## Diagnosis

```bash {auto}
# Is the checkout answering
printf 'checkout ok\\n'
```
"""


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A local webhook receiver (Apprise json://) where alice and bob get their messages."""
    receiver = Webhook().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def config(webhook: Webhook, tmp_path: Path) -> Any:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    (folder / "checkout-down.md").write_text(RUNBOOK)
    return parse_config_text(
        f"""
users:
  - {{id: alice, name: Alice, contacts: ["{webhook.url("alice")}"]}}
  - {{id: bob, name: Bob, contacts: ["{webhook.url("bob")}"]}}
policies:
  - id: web
    levels:
      - {{notify: [user:alice], escalate_after: 10m}}
      - {{notify: [user:bob]}}
runbooks:
  folders: [{folder}]
routes:
  - name: checkout
    match: ['service="checkout"']
    policy: web
    runbook: checkout-down
    auto_runbook: true
"""
    )


@pytest.fixture
def engine(runtime: Any) -> Engine:
    """An engine on the test runtime; call `engine.run_due()` after moving the clock."""
    return Engine(runtime)
