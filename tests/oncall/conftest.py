"""Fixtures of the on-call tests: local receivers, a warroom.yaml with people, schedules and policies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.oncall.helpers import Mailbox, Webhook
from warroom.engine.worker import Engine


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A local webhook receiver (Apprise json://)."""
    receiver = Webhook().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A local SMTP server."""
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


@pytest.fixture
def engine(runtime: Any) -> Engine:
    """An engine on the test runtime; call `engine.run_due()` after moving the clock."""
    return Engine(runtime)
