"""Escalation engine under load, on SQLite and PostgreSQL: one command, figures printed at the end.

    .venv/bin/python bench/escalation.py                      # both backends, the issue's sizes
    .venv/bin/python bench/escalation.py --backend sqlite --incidents 2000 --duration 30   # a quick look

For each backend it:
  1. seeds 10,000 open P1 incidents, each already paged at level 1 and waiting for level 2, and 100,000
     pending jobs: per incident its escalation step, acknowledge target and update reminder (real job kinds),
     plus 7 inert future jobs (kind `bench.future`, due tomorrow) standing for pages on later rules;
  2. starts warroom as separate processes: on SQLite `warroom serve` (API with its engine in-process, as
     SQLite allows one engine); on PostgreSQL an API process without engine plus a `warroom engine` process;
  3. idle phase: declares incidents one at a time through `POST /api/v1/incidents` and times each until the
     local webhook receiver (json://127.0.0.1) gets its first page (the alerts intake is another branch: the
     request measured is the incident one);
  4. load phase: seeded level-2 steps fall due at --rate per second (25) while the rest of the 100,000 jobs
     wait, acknowledge/resolve churn at 10 requests/s on the seeded incidents, new incidents at 2/s, and the
     engine is killed with SIGKILL half-way and started again (on SQLite that restarts the serving process);
  5. capacity: --burst (2,000) more steps fall due at once; pages/s until the receiver has them all;
  6. reads the database and the receiver: engine lateness (when a step or delivery ran minus when it was
     due) p50/p99, first-page latency p50/p99 idle and under load side by side, notifications/s, and pages
     lost or doubled. A first page that never came (within 10 s) is counted lost and stays in the
     percentiles as infinitely late ("lost" in the table), never dropped from them.

Storm control is switched off (threshold 10^9): the bench pages 50 people hundreds of times a minute, and
digests would hide the engine's own figures. Nothing here is timed by assertions; it prints what it saw.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import bindparam, create_engine, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from warroom import db as dbmod  # noqa: E402
from warroom.auth import service as auth_service  # noqa: E402
from warroom.auth.actor import Actor, Role  # noqa: E402
from warroom.clock import SystemClock  # noqa: E402
from warroom.config import Settings, normalize_database_url, parse_config_text  # noqa: E402
from warroom.engine.models import Job  # noqa: E402
from warroom.incidents import service as incidents  # noqa: E402
from warroom.notify.models import DeliveryAttempt, Notification  # noqa: E402
from warroom.oncall import paging, reactions  # noqa: E402
from warroom.oncall.models import Escalation  # noqa: E402
from warroom.runtime import Runtime  # noqa: E402

PEOPLE = 50
NUMBER = re.compile(r"Incident #(\d+)")
NID = re.compile(r"Notification: (n_[0-9a-f]+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def first_page_figures(samples: list[float | None]) -> dict[str, Any]:
    """First-page latency as a user counts it: a page that never came (None: the declare failed or nothing
    arrived within the wait) is lost, and stays in the percentiles as infinitely late instead of being
    dropped from them (dropping it would make losing pages improve the p99)."""
    lost = sum(1 for s in samples if s is None or s != s)
    values = [math.inf if s is None or s != s else s for s in samples]
    return {
        "samples": len(samples),
        "lost": lost,
        "p50_ms": pct(values, 50) * 1000,
        "p99_ms": pct(values, 99) * 1000,
    }


def ms(value: float) -> str:
    """Milliseconds for the table; an infinite percentile is a lost page."""
    return "lost" if math.isinf(value) else f"{value:.1f}"


@dataclass
class Receipt:
    path: str
    incident: int | None
    notification: str | None
    at: float  # time.time()


@dataclass
class Receiver:
    """The local webhook receiving every page (Apprise json://)."""

    port: int = 0
    receipts: list[Receipt] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: Any = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                at = time.time()
                body = json.loads(raw or b"{}").get("message", "")
                number = NUMBER.search(body)
                nid = NID.search(body)
                with receiver.lock:
                    receiver.receipts.append(
                        Receipt(self.path, int(number.group(1)) if number else None, nid.group(1) if nid else None, at)
                    )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def snapshot(self) -> list[Receipt]:
        with self.lock:
            return list(self.receipts)


def config_text(receiver: Receiver) -> str:
    users = [{"id": f"u{n:02d}", "contacts": [receiver.url(f"u{n:02d}")]} for n in range(PEOPLE)]
    users.append({"id": "fresh", "contacts": [receiver.url("fresh")]})
    return yaml.safe_dump(
        {
            "users": users,
            "policies": [{"id": "default", "levels": [{"notify": ["user:fresh"], "escalate_after": "1h"}]}],
            "notifications": {"storm": {"threshold": 1_000_000_000}},
        }
    )


# -- seeding -----------------------------------------------------------------------------------------------------


def seed(url: str, config_path: Path, data_dir: Path, count: int, jobs_total: int) -> None:
    """Open `count` P1 incidents already paged at level 1, and `jobs_total` pending jobs (due tomorrow)."""
    settings = Settings(data_dir=data_dir, database_url=url, config=config_path)
    runtime = Runtime(
        settings=settings,
        config=parse_config_text(config_path.read_text(), str(config_path)),
        db=dbmod.Database(url),
        clock=SystemClock(),
    )
    # The incidents are declared without the paging hook: their paging state is written below as if level 1
    # had gone out an hour ago, so that the load phase is about level 2 only.
    runtime.timeline_hooks.remove(reactions.on_timeline)
    actor = Actor(name="bench", role=Role.RESPONDER)
    later = datetime.now(UTC) + timedelta(days=1)
    numbers: list[int] = []
    started = time.monotonic()
    for first in range(0, count, 500):
        with runtime.db.transaction() as session:
            batch = [
                incidents.declare(
                    session,
                    title=f"Seeded outage {n}",
                    severity="P1",
                    severities=runtime.severities,
                    actor=actor,
                    now=runtime.clock.now(),
                )
                for n in range(first, min(first + 500, count))
            ]
            session.flush()
            numbers.extend(i.id for i in batch)
    now = datetime.now(UTC)
    per_incident = max(jobs_total // max(count, 1), 3)
    with runtime.db.transaction() as session:
        rows, job_rows = [], []
        for index, number in enumerate(numbers):
            first_user, second_user = f"u{index % PEOPLE:02d}", f"u{(index + 1) % PEOPLE:02d}"
            levels = [
                {"index": 0, "notify": [f"user:{first_user}"], "escalate_after": 3600.0},
                {"index": 1, "notify": [f"user:{second_user}"], "escalate_after": 3600.0},
            ]
            rows.append(
                {
                    "incident_id": number,
                    "policy_id": "seeded",
                    "policy": {"id": "seeded", "repeat": 0, "levels": levels},
                    "category": None,
                    "severity": "P1",
                    "generation": 1,
                    "cycle": 0,
                    "level": 1,
                    "state": "active",
                    "last_paged": [first_user],
                    "started_at": now,
                    "updated_at": now,
                }
            )
            base = {
                "payload": {},
                "state": "pending",
                "attempts": 0,
                "owner": None,
                "locked_until": None,
                "last_error": None,
                "created_at": now,
            }
            job_rows.append(
                base
                | {
                    "kind": paging.STEP,
                    "key": str(number),
                    "due_at": later,
                    "payload": {"generation": 1, "cycle": 0, "level": 1},
                }
            )
            job_rows.append(
                base | {"kind": paging.ACK_DUE, "key": str(number), "due_at": later, "payload": {"generation": 1}}
            )
            job_rows.append(base | {"kind": "notify.reminder", "key": str(number), "due_at": later})
            for extra in range(per_incident - 3):
                job_rows.append(base | {"kind": "bench.future", "key": f"{number}:{extra}", "due_at": later})
        session.execute(insert(Escalation), rows)
        for first in range(0, len(job_rows), 5000):
            session.execute(insert(Job), job_rows[first : first + 5000])
    with runtime.db.session() as session:
        pending = session.scalar(text("SELECT count(*) FROM jobs WHERE state = 'pending'"))
    print(f"  seeded {len(numbers)} incidents and {pending} pending jobs in {time.monotonic() - started:.0f} s")
    runtime.db.dispose()


def make_token(url: str) -> str:
    database = dbmod.Database(url)
    with database.transaction() as session:
        _, plaintext = auth_service.create_token(
            session, name="bench", role=Role.ADMIN, created_by="bench", now=datetime.now(UTC)
        )
    database.dispose()
    return plaintext


def retime_steps(url: str, start: float, spread: float, count: int) -> dict[int, datetime]:
    """Make `count` of the seeded level-2 steps still waiting fall due one after another from `start` over
    `spread` seconds (0: all at once)."""
    database = dbmod.Database(url)
    table = Job.__table__
    due: dict[int, datetime] = {}
    tomorrow = datetime.now(UTC) + timedelta(hours=12)
    with database.transaction() as session:
        ids = list(
            session.execute(
                select(Job.id, Job.key)
                .where(Job.kind == paging.STEP, Job.state == "pending", Job.due_at > tomorrow)
                .order_by(Job.id)
                .limit(count)
            )
        )
        gap = spread / max(len(ids), 1)
        params = []
        for position, (job_id, key) in enumerate(ids):
            when = datetime.fromtimestamp(start + position * gap, tz=UTC)
            due[int(key)] = when
            params.append({"job_id": job_id, "due": when})
        statement = update(table).where(table.c.id == bindparam("job_id")).values(due_at=bindparam("due"))
        for first in range(0, len(params), 2000):
            session.connection().execute(statement, params[first : first + 2000])
    database.dispose()
    return due


# -- processes ---------------------------------------------------------------------------------------------------


class Warroom:
    """The warroom processes of one run."""

    def __init__(self, backend: str, url: str, config_path: Path, data_dir: Path, logs: Path) -> None:
        self.backend, self.url, self.config_path, self.data_dir, self.logs = backend, url, config_path, data_dir, logs
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api: subprocess.Popen[bytes] | None = None
        self.engine: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            WARROOM_DATABASE_URL=self.url,
            WARROOM_CONFIG=str(self.config_path),
            WARROOM_DATA_DIR=str(self.data_dir),
            WARROOM_PORT=str(self.port),
            WARROOM_LOG_LEVEL="warning",
            PYTHONPATH=str(ROOT / "src"),
        )
        return env

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        self.starts += 1
        log = (self.logs / f"{name}-{self.starts}.log").open("wb")
        return subprocess.Popen([sys.executable, *args], env=self._env(), stdout=log, stderr=subprocess.STDOUT)

    def start(self) -> None:
        if self.backend == "sqlite":
            self.api = self._spawn(["-m", "warroom", "serve", "--no-migrate"], "serve")
        else:
            code = (
                "from warroom.server import serve; from warroom.config import Settings; "
                "serve(Settings(), migrate=False, engine=False)"
            )
            self.api = self._spawn(["-c", code], "api")
            self.start_engine()
        self.wait_ready()

    def start_engine(self) -> None:
        self.engine = self._spawn(["-m", "warroom", "engine"], "engine")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/ready", timeout=1).status_code == 200:
                    time.sleep(1.0 if self.engine is None else 1.5)  # engine started; Apprise warmed up
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("warroom did not become ready; see the logs in " + str(self.logs))

    def kill_engine(self) -> None:
        """SIGKILL the process running the engine, then start it again."""
        if self.backend == "sqlite":
            assert self.api is not None
            self.api.send_signal(signal.SIGKILL)
            self.api.wait()
            self.api = self._spawn(["-m", "warroom", "serve", "--no-migrate"], "serve")
            self.wait_ready()
        else:
            assert self.engine is not None
            self.engine.send_signal(signal.SIGKILL)
            self.engine.wait()
            self.start_engine()
            time.sleep(1.5)

    def stop(self) -> None:
        for process in (self.engine, self.api):
            if process is not None and process.poll() is None:
                process.terminate()
        for process in (self.engine, self.api):
            if process is not None:
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()


# -- load --------------------------------------------------------------------------------------------------------


class Client:
    """The API client of the bench; retries while the server restarts."""

    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        self.lock = threading.Lock()

    def post(self, path: str, body: Any = None, *, deadline: float = 30) -> httpx.Response | None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            try:
                with self.lock:
                    return self.http.post(path, json=body if body is not None else {})
            except httpx.TransportError:
                time.sleep(0.1)
        return None


def declare_and_time(client: Client, receiver: Receiver, title: str, timeout: float = 10) -> float | None:
    """Seconds from declaring an incident to its first page at the receiver; None when the declare failed or
    no page came within `timeout` (a lost page, counted as such)."""
    started = time.time()
    answer = client.post("/api/v1/incidents", {"title": title, "severity": "P1"})
    if answer is None or answer.status_code != 201:
        return None
    number = answer.json()["number"]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for receipt in reversed(receiver.snapshot()):
            if receipt.incident == number and receipt.path == "/fresh":
                return receipt.at - started
        time.sleep(0.001)
    return None


@dataclass
class LoadResult:
    churned: dict[int, float] = field(default_factory=dict)  # incident -> when acked/resolved (time.time())
    fresh: list[tuple[float, float | None]] = field(default_factory=list)  # (sent at, first page after or None)
    restart: tuple[float, float] = (0.0, 0.0)


def load_phase(
    client: Client, receiver: Receiver, warroom: Warroom, seeded: list[int], duration: float, churn_rate: float
) -> LoadResult:
    result = LoadResult()
    stop = threading.Event()
    rng = random.Random(7)
    candidates = list(seeded)
    rng.shuffle(candidates)

    def churn() -> None:
        interval = 1 / churn_rate
        next_at = time.monotonic()
        for position, number in enumerate(candidates):
            if stop.is_set():
                return
            action = "acknowledge" if position % 2 == 0 else "resolve"
            answer = client.post(f"/api/v1/incidents/{number}/{action}", {"message": "bench churn"})
            if answer is not None and answer.status_code == 200:
                result.churned[number] = time.time()
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def fresh() -> None:
        count = 0
        while not stop.is_set() and count < int(duration * 3):
            sent = time.time()
            result.fresh.append((sent, declare_and_time(client, receiver, f"Fresh under load {count}")))
            count += 1
            time.sleep(0.5)

    threads = [threading.Thread(target=churn, daemon=True), threading.Thread(target=fresh, daemon=True)]
    for thread in threads:
        thread.start()
    time.sleep(duration / 2)
    killed = time.time()
    warroom.kill_engine()
    result.restart = (killed, time.time())
    time.sleep(max(0.0, duration / 2 - (time.time() - killed)))
    stop.set()
    for thread in threads:
        thread.join(30)
    return result


# -- one run -----------------------------------------------------------------------------------------------------


def run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    print(f"\n== {backend}")
    work = Path(tempfile.mkdtemp(prefix=f"warroom-bench-{backend}-"))
    receiver = Receiver().start()
    admin_engine = None
    if backend == "sqlite":
        url = f"sqlite:///{work / 'warroom.db'}"
    else:
        admin = normalize_database_url(args.pg_url)
        name = f"warroom_bench_{os.getpid()}"
        admin_engine = create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    config_path = work / "warroom.yaml"
    config_path.write_text(config_text(receiver))
    dbmod.upgrade(url)
    seed(url, config_path, work / "data", args.incidents, args.jobs)
    token = make_token(url)
    warroom = Warroom(backend, url, config_path, work / "data", work)
    try:
        warroom.start()
        client = Client(warroom.base, token)
        # Idle: nothing due, one incident at a time.
        idle: list[float | None] = []
        for n in range(args.idle_samples):
            idle.append(declare_and_time(client, receiver, f"Fresh when idle {n}"))
            time.sleep(0.05)
        with dbmod.Database(url).session() as session:
            seeded = [int(k) for k in session.scalars(select(Job.key).where(Job.kind == paging.STEP))]
        load_start = time.time() + 1
        due = retime_steps(url, load_start, args.duration * 0.8, int(args.rate * args.duration * 0.8))
        received_before = len(receiver.snapshot())
        load = load_phase(client, receiver, warroom, seeded, args.duration, args.churn)
        load_end = time.time()
        # Drain: wait for the steps due by now to have run.
        database = dbmod.Database(url)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with database.session() as session:
                left = session.scalar(
                    select(text("count(*)"))
                    .select_from(Job.__table__)
                    .where(Job.kind.in_([paging.STEP, "notify.deliver"]), Job.due_at <= datetime.now(UTC))
                )
            if not left:
                break
            time.sleep(0.5)
        time.sleep(2)
        result = analyse(backend, database, receiver, due, load, idle, load_start, load_end, received_before, args)
        result.update(burst(url, receiver, args.burst))
        return result
    finally:
        warroom.stop()
        receiver.server.shutdown()
        if admin_engine is not None:
            with admin_engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "warroom_bench_{os.getpid()}" WITH (FORCE)'))
            admin_engine.dispose()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"  kept {work}")


def burst(url: str, receiver: Receiver, count: int) -> dict[str, Any]:
    """Capacity: `count` level-2 steps due at once; how fast do their pages reach the receiver?"""
    if count <= 0:
        return {}
    before = len(receiver.snapshot())
    started = time.time()
    due = retime_steps(url, started, 0, count)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and len(receiver.snapshot()) - before < len(due):
        time.sleep(0.05)
    took = time.time() - started
    got = len(receiver.snapshot()) - before
    rate = got / took if took > 0 else float("nan")
    print(f"  burst: {got} of {len(due)} steps due at once paged in {took:.1f} s: {rate:.0f} pages/s")
    return {"burst_pages": got, "burst_pages_per_s": rate}


def analyse(
    backend: str,
    database: Any,
    receiver: Receiver,
    due: dict[int, datetime],
    load: LoadResult,
    idle: list[float | None],
    load_start: float,
    load_end: float,
    received_before: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    receipts = receiver.snapshot()
    counts = Counter(r.notification for r in receipts if r.notification)
    doubled = sum(1 for n in counts.values() if n > 1)
    received_ids = set(counts)
    killed, back = load.restart
    with database.session() as session:
        level2 = {
            row.incident_id: row
            for row in session.scalars(select(Notification).where(Notification.kind == "page", Notification.level == 1))
        }
        attempts = list(
            session.execute(
                select(Notification.due_at, DeliveryAttempt.at)
                .join(DeliveryAttempt, DeliveryAttempt.notification_id == Notification.id)
                .where(DeliveryAttempt.at >= datetime.fromtimestamp(load_start, tz=UTC))
            )
        )
    lateness: list[float] = []
    lateness_no_restart: list[float] = []
    window = (killed - 1, back + 1)

    def note(due_at: datetime, ran_at: datetime) -> None:
        late = (ran_at - due_at).total_seconds()
        lateness.append(late)
        if not window[0] <= due_at.timestamp() <= window[1] and not window[0] <= ran_at.timestamp() <= window[1]:
            lateness_no_restart.append(late)

    lost = expected = 0
    for number, due_at in due.items():
        if due_at.timestamp() > load_end - 1:
            continue
        page = level2.get(number)
        if page is not None:
            note(due_at, page.created_at)
        churned = load.churned.get(number)
        if churned is not None and churned < due_at.timestamp() + 5:
            continue  # acknowledged or resolved around its due time: a page is optional
        expected += 1
        if page is None or page.id not in received_ids:
            lost += 1
    for due_at, at in attempts:
        note(due_at, at)
    in_load = [r for r in receipts[received_before:] if load_start <= r.at <= load_end]
    # Requests sent while the server restarted wait for it (SQLite restarts the API with the engine): they are
    # in the whole-run figures, and left out only of the second set, which says what a page costs otherwise.
    idle_pages = first_page_figures(idle)
    fresh_all = first_page_figures([latency for _, latency in load.fresh])
    fresh = first_page_figures([latency for sent, latency in load.fresh if not window[0] <= sent <= window[1]])
    per_second = Counter(int(r.at) for r in in_load)
    result = {
        "backend": backend,
        "incidents": args.incidents,
        "lateness_p50": pct(lateness, 50),
        "lateness_p99": pct(lateness, 99),
        "lateness_p99_outside_restart": pct(lateness_no_restart, 99),
        "lateness_max": max(lateness) if lateness else float("nan"),
        "idle_first_page_p50_ms": idle_pages["p50_ms"],
        "idle_first_page_p99_ms": idle_pages["p99_ms"],
        "idle_first_pages_lost": idle_pages["lost"],
        "idle_first_page_samples": idle_pages["samples"],
        "load_first_page_p50_ms": fresh_all["p50_ms"],
        "load_first_page_p99_ms": fresh_all["p99_ms"],
        "load_first_pages_lost": fresh_all["lost"],
        "load_first_page_samples": fresh_all["samples"],
        "load_first_page_p50_ms_outside_restart": fresh["p50_ms"],
        "load_first_page_p99_ms_outside_restart": fresh["p99_ms"],
        "notifications_per_s": len(in_load) / max(load_end - load_start, 1),
        "peak_notifications_per_s": max(per_second.values()) if per_second else 0,
        "steps_expected": expected,
        "pages_lost": lost,
        "pages_doubled": doubled,
        "churn_requests": len(load.churned),
        "restart_seconds": back - killed,
    }
    for key, value in result.items():
        print(f"  {key}: {value:.3f}" if isinstance(value, float) else f"  {key}: {value}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=90, help="Seconds of load (the restart is half-way).")
    parser.add_argument("--churn", type=float, default=10, help="Acknowledge/resolve requests per second.")
    parser.add_argument("--rate", type=float, default=25, help="Seeded level-2 steps falling due per second.")
    parser.add_argument("--burst", type=int, default=2000, help="Steps due at once at the end (capacity).")
    parser.add_argument("--idle-samples", type=int, default=100)
    parser.add_argument(
        "--pg-url", default=os.environ.get("WARROOM_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--keep", action="store_true", help="Keep the work folder (database, logs).")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run(backend, args) for backend in backends]
    print(
        "\n| backend | lateness p50 / p99 (s) | p99 outside restart | first page idle p50 / p99 (ms) "
        "| lost | under load p50 / p99 (ms) | lost | outside restart p50 / p99 (ms) | notifications/s (peak) "
        "| steps lost | doubled | burst pages/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['backend']} | {r['lateness_p50']:.3f} / {r['lateness_p99']:.3f} "
            f"| {r['lateness_p99_outside_restart']:.3f} "
            f"| {ms(r['idle_first_page_p50_ms'])} / {ms(r['idle_first_page_p99_ms'])} "
            f"| {r['idle_first_pages_lost']} of {r['idle_first_page_samples']} "
            f"| {ms(r['load_first_page_p50_ms'])} / {ms(r['load_first_page_p99_ms'])} "
            f"| {r['load_first_pages_lost']} of {r['load_first_page_samples']} "
            f"| {ms(r['load_first_page_p50_ms_outside_restart'])} / {ms(r['load_first_page_p99_ms_outside_restart'])} "
            f"| {r['notifications_per_s']:.0f} ({r['peak_notifications_per_s']}) "
            f"| {r['pages_lost']} of {r['steps_expected']} "
            f"| {r['pages_doubled']} | {r.get('burst_pages_per_s', float('nan')):.0f} |"
        )


if __name__ == "__main__":
    main()
