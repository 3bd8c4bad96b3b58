"""Each subscriber gets each update once, also when a real `warroom engine` process is SIGKILLed mid-send.

Once as the subscriber sees it: every message of one update to one subscriber has the same Message-ID.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, insert, select

from tests.peers import start_engine, wait_until
from tests.subscribers.receivers import SmtpBox
from warroom.clock import SystemClock
from warroom.config import ConfigFile, parse_config_text
from warroom.runtime import Runtime
from warroom.statuspage.subscriber_models import Delivery, Subscriber

SUBSCRIBERS = 600


@pytest.fixture
def clock() -> SystemClock:
    """Real time: the engine is another process."""
    return SystemClock()


@pytest.fixture
def config_path(tmp_path: Path, smtp: SmtpBox) -> Path:
    path = tmp_path / "warroom.yaml"
    smtp_cfg = {"host": "127.0.0.1", "port": smtp.port, "from": "status@acme.test"}
    path.write_text(yaml.safe_dump({"status_page": {"subscribers": {"smtp": smtp_cfg, "batch": 50}}}))
    return path


@pytest.fixture
def config(config_path: Path) -> ConfigFile:
    return parse_config_text(config_path.read_text(), str(config_path))


def test_sigkill_in_the_middle_of_sending_delivers_each_update_once(
    runtime: Runtime,
    database_url: str,
    config_path: Path,
    tmp_path: Path,
    smtp: SmtpBox,
    publish: Callable[..., Any],
) -> None:
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        session.execute(
            insert(Subscriber),
            [
                {
                    "kind": "email",
                    "address": f"s{i}@example.com",
                    "state": "confirmed",
                    "component_ids": [],
                    "created_at": now,
                    "confirmed_at": now,
                }
                for i in range(SUBSCRIBERS)
            ],
        )
    smtp.delay = 0.004  # ~4 ms a message: the kill lands while the batches are going out
    update = publish("Checkouts are slow; we are on it.")
    engine = start_engine(database_url, config_path, tmp_path, "first")
    try:
        wait_until(lambda: len(smtp.messages) >= SUBSCRIBERS // 4, 60, "a quarter of the messages")
        engine.send_signal(signal.SIGKILL)
        engine.wait(10)
        killed_at = len(smtp.messages)
        assert killed_at < SUBSCRIBERS, "everything went out before the kill: nothing was tested"
        engine = start_engine(database_url, config_path, tmp_path, "second")
        wait_until(lambda: len({str(m["To"]) for m in smtp.messages}) >= SUBSCRIBERS, 60, "every subscriber")
        time.sleep(1.5)  # anything extra would arrive now
    finally:
        engine.terminate()
        engine.wait(20)
    per_recipient = Counter(str(m["To"]) for m in smtp.messages)
    ids = {str(m["To"]): set() for m in smtp.messages}
    for m in smtp.messages:
        ids[str(m["To"])].add(str(m["Message-ID"]))
    repeats = {to: n for to, n in per_recipient.items() if n > 1}
    print(f"killed after {killed_at} of {SUBSCRIBERS}; sent twice across the kill: {len(repeats)}")
    assert len(per_recipient) == SUBSCRIBERS  # nobody missed it
    # Each message is marked sent right after the server accepted it. Only a message the server took while
    # the engine died before that commit (one per send job running: at most the engine's 8 I/O workers) goes
    # again, and with the same Message-ID, the dedup key: each subscriber's mailbox shows the update once.
    assert all(len(found) == 1 for found in ids.values())
    assert len(repeats) <= 8 and all(n == 2 for n in repeats.values()), repeats
    assert all(f"<status.{update.id}." in next(iter(found)) for found in ids.values())
    with runtime.db.session() as session:
        states = dict(session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all())
    assert states == {"sent": SUBSCRIBERS}
