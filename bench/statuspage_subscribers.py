"""Status page subscribers (issue 16): `python bench/statuspage_subscribers.py` (under `flock /tmp/bench.lock`).

Creates a fresh database (SQLite in a temporary folder, or PostgreSQL with --postgres), adds 10,000 confirmed
email subscribers, starts a local SMTP server (aiosmtpd on 127.0.0.1), and then

1. times the publishing transaction of a public update (the `status_update_published` event, whose hook
   freezes the notice and writes one fan-out job) with the 10,000 subscribers present: target < 100 ms;
2. starts a real `warroom engine` process, SIGKILLs it once a third of the messages arrived, starts another,
   and waits until every subscriber has the update: target all 10,000 within 60 s of the publish, each
   subscriber with exactly one Message-ID (the dedup key; raw repeats across the kill are counted and shown).

Prints the figures and PASS/FAIL; exit status 1 on FAIL.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from email import message_from_bytes
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, delete, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from warroom import db as dbmod
from warroom.auth.actor import Actor, Role
from warroom.config import Settings, normalize_database_url
from warroom.engine.models import Job
from warroom.incidents import service as incidents
from warroom.incidents import timeline
from warroom.incidents.models import Incident
from warroom.runtime import Runtime
from warroom.statuspage.snapshot import PublicIncident, PublicUpdate
from warroom.statuspage.subscriber_models import Subscriber
from warroom.statuspage.subscriber_source import set_source

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_PUBLISH_MS = 100.0
TARGET_DELIVERY_S = 60.0


class Source:
    """Public updates by id, as the status domain would give them."""

    def __init__(self) -> None:
        self.updates: dict[str, tuple[PublicIncident, PublicUpdate]] = {}

    def public_update(self, session: Session, update_id: str) -> tuple[PublicIncident, PublicUpdate] | None:
        return self.updates.get(update_id)

    def component_choices(self, session: Session) -> Sequence[tuple[str, str]]:
        return ()


class Inbox:
    """aiosmtpd on 127.0.0.1 counting messages per recipient and their Message-IDs."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.lock = threading.Lock()
        self.count = 0
        self.ids: dict[str, set[str]] = defaultdict(set)
        self.raw: Counter[str] = Counter()
        self.last_at = 0.0
        inbox = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = message_from_bytes(envelope.content)
                with inbox.lock:
                    for to in envelope.rcpt_tos:
                        inbox.ids[to].add(str(message["Message-ID"]))
                        inbox.raw[to] += 1
                        inbox.count += 1
                    inbox.last_at = time.monotonic()
                return "250 OK"

        with socket.socket() as probe:  # a free port on 127.0.0.1
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def recipients(self) -> int:
        with self.lock:
            return len(self.ids)


def _engine(url: str, config: Path, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        WARROOM_DATABASE_URL=url,
        WARROOM_CONFIG=str(config),
        WARROOM_DATA_DIR=str(data_dir),
        WARROOM_LOG_LEVEL="warning",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "warroom", "engine"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def _wait(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _publish(runtime: Runtime, source: Source, incident_id: int, n: int) -> tuple[str, float]:
    now = runtime.clock.now()
    update = PublicUpdate(
        id=f"bench-{uuid.uuid4().hex[:8]}-{n}",
        status="identified",
        body=f"Update {n}: cause found.",
        created_at=now,
        display_at=now,
    )
    source.updates[update.id] = (
        PublicIncident(
            id="bench",
            kind="incident",
            name="Checkout is slow",
            status="identified",
            impact="major",
            created_at=now,
            updated_at=now,
            started_at=now,
            monitoring_at=None,
            resolved_at=None,
            component_ids=(),
            updates=(update,),
        ),
        update,
    )
    started = time.perf_counter()
    with runtime.db.transaction() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        timeline.append(
            session,
            incident,
            kind="status_update_published",
            actor=Actor("bench", Role.RESPONDER),
            at=now,
            message="public update",
            data={"update_id": update.id, "status": "identified", "public": True},
        )
    return update.id, (time.perf_counter() - started) * 1000


def run(url: str, folder: Path, subscribers: int, kill_at: float) -> bool:
    dbmod.upgrade(url)
    inbox = Inbox()
    config = folder / "warroom.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "status_page": {
                    "subscribers": {"smtp": {"host": "127.0.0.1", "port": inbox.port, "from": "status@bench.test"}}
                }
            }
        )
    )
    settings = Settings(data_dir=folder / "data", database_url=url, config=config)
    runtime = Runtime.from_settings(settings)
    source = Source()
    set_source(runtime, source)
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        for start in range(0, subscribers, 5000):
            session.execute(
                insert(Subscriber),
                [
                    {
                        "kind": "email",
                        "address": f"s{i}@bench.test",
                        "state": "confirmed",
                        "component_ids": [],
                        "created_at": now,
                        "confirmed_at": now,
                    }
                    for i in range(start, min(start + 5000, subscribers))
                ],
            )
        incident = incidents.declare(
            session,
            title="Checkout latency",
            severity="P1",
            severities=runtime.severities,
            actor=Actor("bench", Role.RESPONDER),
            now=now,
        )
        incident_id = incident.id
    # Publishing, timed with every subscriber present; only the last publish is delivered.
    timings = [_publish(runtime, source, incident_id, n)[1] for n in range(10)]
    with runtime.db.transaction() as session:
        session.execute(delete(Job).where(Job.kind.startswith("statuspage.")))
    update_id, publish_ms = _publish(runtime, source, incident_id, 99)
    published_at = time.monotonic()
    log = folder / "engine.log"
    engine = _engine(url, config, folder / "data", log)
    killed_at = None
    try:
        if _wait(lambda: inbox.count >= subscribers * kill_at, TARGET_DELIVERY_S):
            engine.send_signal(signal.SIGKILL)
            engine.wait(10)
            killed_at = inbox.count
            engine = _engine(url, config, folder / "data", log)
        _wait(lambda: inbox.recipients() >= subscribers, TARGET_DELIVERY_S * 2)
        done_at = inbox.last_at
        time.sleep(2)  # anything extra would arrive now
    finally:
        engine.terminate()
        engine.wait(20)
        inbox.controller.stop()
        runtime.db.dispose()
    got = inbox.recipients()
    elapsed = done_at - published_at
    one_id = sum(1 for ids in inbox.ids.values() if len(ids) == 1 and f"status.{update_id}." in next(iter(ids)))
    repeats = sum(1 for n in inbox.raw.values() if n > 1)
    print(
        f"publish transaction with {subscribers} subscribers: {publish_ms:.1f} ms "
        f"(10 more: p50 {statistics.median(timings):.1f} ms, max {max(timings):.1f} ms)"
    )
    print(f"engine SIGKILLed after {killed_at} messages, restarted")
    print(
        f"received by {got}/{subscribers} subscribers in {elapsed:.1f} s after the publish "
        f"({got / max(elapsed, 0.001):.0f} messages/s); messages {inbox.count}, "
        f"subscribers with one Message-ID: {one_id}, raw repeats across the kill: {repeats}"
    )
    ok = (
        max(publish_ms, *timings) < TARGET_PUBLISH_MS
        and got == subscribers
        and one_id == subscribers
        and elapsed < TARGET_DELIVERY_S
        and killed_at is not None
    )
    print(
        ("PASS" if ok else "FAIL") + f": publish < {TARGET_PUBLISH_MS:.0f} ms, all {subscribers} within "
        f"{TARGET_DELIVERY_S:.0f} s, each once by Message-ID, across a SIGKILL"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true", help="Run on PostgreSQL (WARROOM_TEST_DATABASE_URL).")
    parser.add_argument("--kill-at", type=float, default=1 / 3, help="Kill the engine after this share arrived.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warroom-bench-subs-") as tmp:
        folder = Path(tmp)
        if not args.postgres:
            print("backend: sqlite")
            return 0 if run(f"sqlite:///{folder / 'bench.db'}", folder, args.subscribers, args.kill_at) else 1
        admin = normalize_database_url(os.environ.get("WARROOM_TEST_DATABASE_URL", DEFAULT_PG))
        name = f"warroom_bench_subs_{os.getpid()}"
        engine = create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            print("backend: postgresql")
            url = make_url(admin).set(database=name).render_as_string(hide_password=False)
            return 0 if run(url, folder, args.subscribers, args.kill_at) else 1
        finally:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
