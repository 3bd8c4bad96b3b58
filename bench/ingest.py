"""Alert intake benchmark: Alertmanager v4 webhooks against `warroom serve` on SQLite (synchronous=NORMAL and
FULL) and PostgreSQL, alternating in short rounds with Debian's prometheus-alertmanager as the peer.

    .venv/bin/python bench/ingest.py                 # both backends (PostgreSQL from WARROOM_TEST_DATABASE_URL)
    .venv/bin/python bench/ingest.py --quick         # 3 s rounds, 2 rounds
    .venv/bin/python bench/ingest.py --backend sqlite --synchronous normal --seconds 5

Load: 1, 10 and 100 alerts per request; 5,000 distinct fingerprints per round; about 30% repeats and 10%
resolves; concurrent clients on loopback; every round bounded in time and in requests. Routing, dedup and
grouping are on (a warroom.yaml with routes).

Like with like: every server (each warroom and Alertmanager) is started first and gets the same warm-up;
then each phase runs --rounds short rounds, and in each round every server gets the same load one after the
other (the order rotating from round to round), so a slow moment of the shared machine falls on all of them.
Each round prints every server's figures and the ratio warroom / Alertmanager; the end prints the median
ratio per phase. Alertmanager keeps alerts in memory; warroom commits each one before answering.

What is answered is stored: after each round the database is read and every fingerprint must have at least
as many stored receipts (`received`) as 2xx answers, and in all exactly as many. At the end each warroom is
killed with SIGKILL in the middle of a round, and every 2xx answered before the kill is looked up in the
database: an alert answered before its commit would be missing there.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

FINGERPRINTS = 5000
REPEAT_SHARE = 0.30
RESOLVE_SHARE = 0.10
MAX_REQUESTS = 200_000
CONFIG = """
services:
  - name: checkout
  - name: payments
  - name: search
routes:
  - name: prod
    match: ['env="prod"']
    continue: true
    policy: prod-oncall
  - name: payments
    match: ['service="payments"']
    severity: P1
    group_by: [alertname, service]
  - name: web
    match: ['service=~"checkout|search"']
    group_by: [alertname, service]
"""
SERVICES = ("checkout", "payments", "search")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Workload:
    """Alerts to send: new fingerprints, repeats of firing ones and resolves, in the shares asked for."""

    phase: str
    rng: random.Random
    firing: list[int] = field(default_factory=list)
    firing_set: set[int] = field(default_factory=set)
    next_new: int = 0
    kinds: dict[str, int] = field(default_factory=lambda: {"new": 0, "repeat": 0, "resolve": 0})

    def labels(self, index: int) -> dict[str, str]:
        return {
            "alertname": f"Bench{index % 40}",
            "instance": f"host-{index}",
            "service": SERVICES[index % len(SERVICES)],
            "env": "prod" if index % 2 else "staging",
            "severity": ("critical", "warning", "error", "info")[index % 4],
            "phase": self.phase,
        }

    def one(self) -> tuple[int, str]:
        roll = self.rng.random()
        if self.firing and roll < RESOLVE_SHARE:
            position = self.rng.randrange(len(self.firing))
            index = self.firing[position]
            self.firing[position] = self.firing[-1]
            self.firing.pop()
            self.firing_set.discard(index)
            self.kinds["resolve"] += 1
            return index, "resolved"
        if self.firing and roll < RESOLVE_SHARE + REPEAT_SHARE:
            self.kinds["repeat"] += 1
            return self.rng.choice(self.firing), "firing"
        index = self.next_new % FINGERPRINTS
        self.next_new += 1
        if index not in self.firing_set:
            self.firing.append(index)
            self.firing_set.add(index)
        self.kinds["new"] += 1
        return index, "firing"

    def batch(self, size: int) -> list[tuple[int, str]]:
        chosen: dict[int, str] = {}
        while len(chosen) < size:
            index, status = self.one()
            chosen[index] = status
        return list(chosen.items())


def webhook(workload: Workload, items: list[tuple[int, str]]) -> dict[str, Any]:
    """An Alertmanager v4 webhook payload."""
    now = datetime.now(UTC).isoformat()
    alerts = [
        {
            "status": status,
            "labels": workload.labels(index),
            "annotations": {"summary": f"Bench alert {index} of {workload.phase}"},
            "startsAt": "2026-01-05T08:59:30.123456789Z",
            "endsAt": now if status == "resolved" else "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": f"{workload.phase}-{index:05d}",
        }
        for index, status in items
    ]
    return {
        "receiver": "warroom",
        "status": "firing",
        "alerts": alerts,
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
    }


def postable(workload: Workload, items: list[tuple[int, str]]) -> list[dict[str, Any]]:
    """The same alerts as Alertmanager's own API takes them (`POST /api/v2/alerts`)."""
    now = datetime.now(UTC).isoformat()
    out = []
    for index, status in items:
        alert: dict[str, Any] = {
            "labels": workload.labels(index),
            "annotations": {"summary": f"Bench alert {index}"},
            "startsAt": "2026-01-05T08:59:30Z",
            "generatorURL": "http://prometheus:9090/graph",
        }
        if status == "resolved":
            alert["endsAt"] = now
        out.append(alert)
    return out


@dataclass
class Result:
    label: str
    size: int
    clients: int
    requests: int
    alerts: int
    seconds: float
    latencies: list[float]
    errors: dict[str, int]
    kinds: dict[str, int]
    fingerprints: set[str]
    note: str = ""
    answered: Counter[str] = field(default_factory=Counter)  # fingerprint -> alerts answered 2xx

    @property
    def alerts_per_second(self) -> float:
        return self.alerts / self.seconds if self.seconds else 0.0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000


async def drive(
    url: str,
    make_body: Any,
    *,
    size: int,
    clients: int,
    seconds: float,
    workload: Workload,
    headers: dict[str, str],
    label: str,
    stop: asyncio.Event | None = None,
) -> Result:
    """`clients` connections each sending one request after the other until the time or request budget ends
    (or `stop` is set: the server was killed)."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    accepted = 0
    sent = 0
    fingerprints: set[str] = set()
    answered: Counter[str] = Counter()
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:

        async def client() -> None:
            nonlocal accepted, sent
            while time.perf_counter() < deadline and sent < MAX_REQUESTS and not (stop and stop.is_set()):
                sent += 1
                items = workload.batch(size)
                body = json.dumps(make_body(workload, items)).encode()
                started = time.perf_counter()
                try:
                    async with http.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                        await response.read()
                        status = response.status
                except aiohttp.ClientError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append(time.perf_counter() - started)
                if 200 <= status < 300:
                    accepted += len(items)
                    names = [f"{workload.phase}-{index:05d}" for index, _ in items]
                    fingerprints.update(names)
                    answered.update(names)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    result = Result(
        label, size, clients, len(latencies), accepted, elapsed, latencies, errors, dict(workload.kinds), fingerprints
    )
    result.answered = answered
    return result


async def drive_rate(
    url: str,
    make_body: Any,
    *,
    size: int,
    rate: float,
    seconds: float,
    workload: Workload,
    headers: dict[str, str],
    label: str,
    connections: int = 64,
    timeline: bool = False,
) -> Result:
    """Open loop: requests start on a fixed schedule (`rate` per second) whether or not earlier ones have been
    answered, and each latency counts from the scheduled start, so a stall shows in the figures instead of
    slowing the sender down (no coordinated omission). Bodies are built before the clock starts."""
    count = min(int(rate * seconds), MAX_REQUESTS)
    planned: list[list[tuple[int, str]]] = []
    first_pass = count  # requests until every fingerprint has been sent once (all of them new to warroom)
    for position in range(count):
        planned.append(workload.batch(size))
        if first_pass == count and workload.next_new >= FINGERPRINTS:
            first_pass = position + 1
    bodies = [json.dumps(make_body(workload, items)).encode() for items in planned]
    # The plan is tens of thousands of objects that live until the end: left to the collector, its full
    # passes stalled this client for 50-150 ms, which showed up as server latency.
    gc.collect()
    gc.freeze()
    latencies: list[float] = []
    lags: list[float] = []  # how late this client started each request: if large, the client is the limit
    after_first_pass: list[float] = []
    by_second: dict[int, list[float]] = {}
    interval = 1.0 / rate
    errors: dict[str, int] = {}
    accepted = 0
    fingerprints: set[str] = set()
    answered: Counter[str] = Counter()
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:

        async def one(body: bytes, items: list[tuple[int, str]], scheduled: float, position: int) -> None:
            nonlocal accepted
            lags.append(time.perf_counter() - scheduled)
            try:
                async with http.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                    await response.read()
                    status = response.status
            except aiohttp.ClientError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            latencies.append(time.perf_counter() - scheduled)
            by_second.setdefault(int(position * interval), []).append(latencies[-1])
            if position >= first_pass:
                after_first_pass.append(latencies[-1])
            if 200 <= status < 300:
                accepted += len(items)
                names = [f"{workload.phase}-{index:05d}" for index, _ in items]
                fingerprints.update(names)
                answered.update(names)
            else:
                errors[str(status)] = errors.get(str(status), 0) + 1

        tasks: list[asyncio.Task[None]] = []
        started = time.perf_counter()
        for position, (body, items) in enumerate(zip(bodies, planned, strict=True)):
            scheduled = started + position * interval
            delay = scheduled - time.perf_counter()
            if delay > 0.001:  # asyncio sleeps in ~1 ms steps: what is due meanwhile starts together
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body, items, scheduled, position)))
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 60)
        elapsed = time.perf_counter() - started
    # The plan is garbage now: unfrozen, or every round's bodies would stay in memory until the end.
    del bodies, planned
    gc.unfreeze()
    result = Result(
        label, size, 0, len(latencies), accepted, elapsed, latencies, errors, dict(workload.kinds), fingerprints
    )
    result.answered = answered
    lags.sort()
    if timeline:
        # When in the phase the time went: a queue built by the first pass shows as a slow start.
        for second, values in sorted(by_second.items()):
            values.sort()
            p50, p99 = values[len(values) // 2] * 1000, values[int(0.99 * (len(values) - 1))] * 1000
            print(f"    second {second}: p50 {p50:6.1f} ms  p99 {p99:6.1f} ms", flush=True)
    after_first_pass.sort()
    notes = []
    if lags:
        notes.append(f"client start lag p99 {lags[int(0.99 * (len(lags) - 1))] * 1000:.1f} ms")
    if after_first_pass and first_pass < count:
        # The first pass is a storm of alerts warroom has never seen (inserts, timeline events); afterwards
        # the mix is repeats, re-fires and resolves. Printed to say what limits it, not as the verdict.
        late = after_first_pass[int(0.99 * (len(after_first_pass) - 1))] * 1000
        notes.append(f"p99 after the first {first_pass:,} requests (every fingerprint new) {late:.1f} ms")
    result.note = ", ".join(notes)
    return result


def unstored(answered: Counter[str], stored: dict[str, int]) -> list[str]:
    """Fingerprints answered 2xx more often than the database holds receipts for: alerts told "accepted" that
    were not committed. More receipts than answers is not a loss (committed, the answer cut off by a kill)."""
    return sorted(name for name, count in answered.items() if stored.get(name, 0) < count)


def start_serve(
    url: str, env: dict[str, str], folder: Path, timeout: float = 60
) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """`warroom serve` with `env`, its output in folder/server.log; returns once `url`/ready answers 200 (the
    process and its open log), exits the bench when it does not within `timeout` seconds or the server stops."""
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "warroom", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return process, log
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"warroom did not start; see {folder / 'server.log'}")
        time.sleep(0.2)


class Warroom:
    """`warroom serve` in its own process (API, intake writer and engine), on a fresh database."""

    def __init__(self, backend: str, pg_admin: str | None, folder: Path, synchronous: str = "normal") -> None:
        self.backend = backend
        self.synchronous = synchronous
        self.label = f"warroom {backend}" + (f"/{synchronous}" if backend == "sqlite" else "")
        self.tag = "pg" if backend == "postgresql" else f"s{synchronous[0]}"
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.pg_admin = pg_admin
        self.pg_name: str | None = None
        if backend == "postgresql":
            assert pg_admin
            self.pg_name = f"warroom_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            engine = create_engine(pg_admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.pg_name}"'))
            engine.dispose()
            self.database_url = make_url(pg_admin).set(database=self.pg_name).render_as_string(hide_password=False)
        else:
            self.database_url = f"sqlite:///{folder / 'warroom.db'}"
        (folder / "warroom.yaml").write_text(CONFIG)
        env = {
            **os.environ,
            "WARROOM_DATA_DIR": str(folder),
            "WARROOM_DATABASE_URL": self.database_url,
            "WARROOM_CONFIG": str(folder / "warroom.yaml"),
            "WARROOM_PORT": str(self.port),
            "WARROOM_LOG_LEVEL": "warning",
            "WARROOM_SQLITE_SYNCHRONOUS": synchronous,
        }
        self.process, self.log = start_serve(self.url, env, folder)
        self.token = (folder / "admin-token").read_text().strip()

    def integration(self, name: str) -> str:
        response = httpx.post(
            f"{self.url}/api/v1/integrations",
            json={"name": name, "type": "alertmanager"},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        response.raise_for_status()
        return str(response.json()["key"])

    def batches(self) -> tuple[float, float]:
        """(commits, requests committed) so far, from the intake writer's histogram in /metrics."""
        text = httpx.get(f"{self.url}/metrics", headers={"Authorization": f"Bearer {self.token}"}).text
        values = {"count": 0.0, "sum": 0.0}
        for line in text.splitlines():
            for name in values:
                if line.startswith(f"warroom_alert_intake_batch_requests_{name} "):
                    values[name] = float(line.split()[1])
        return values["count"], values["sum"]

    async def phase(self, integration: str, load: Any) -> Result:
        """Run one round's load (a coroutine), then report it with requests per commit and the stored check."""
        commits_before, requests_before = self.batches()
        result: Result = await load
        commits, requests = self.batches()
        if commits > commits_before:
            # What limits it: the bigger the group commits, the more requests share one transaction.
            per_commit = f"{(requests - requests_before) / (commits - commits_before):.1f} req/commit"
            result.note = f"{per_commit}, {result.note}" if result.note else per_commit
        report(result, self.verify(result, integration))
        return result

    def stored(self, integration: str) -> tuple[dict[str, int], int]:
        """Receipts stored per fingerprint for the integration, and the incidents so far."""
        url = self.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT fingerprint, sum(received) FROM alerts a JOIN alert_integrations i "
                    "ON a.integration_id = i.id WHERE i.name = :name GROUP BY fingerprint"
                ),
                {"name": integration},
            )
            stored = {str(r[0]): int(r[1]) for r in rows}
            incidents = int(conn.execute(text("SELECT count(*) FROM incidents")).scalar() or 0)
        engine.dispose()
        return stored, incidents

    def verify(self, result: Result, integration: str, *, killed: bool = False) -> str:
        """Every alert answered 2xx is in the database, as many times as it was answered. Without a kill the
        totals are equal too (nothing committed that was not answered)."""
        stored, incidents = self.stored(integration)
        lost = unstored(result.answered, stored)
        receipts = sum(stored.values())
        if lost:
            return (
                f"FAILED: {len(lost)} fingerprints answered 2xx but not stored (e.g. {lost[:3]}); answered "
                f"{result.alerts}, stored receipts {receipts}"
            )
        if not killed and receipts != result.alerts:
            return f"FAILED: answered {result.alerts} alerts 2xx, stored receipts {receipts}"
        extra = f", {receipts - result.alerts} committed but not answered before the kill" if killed else ""
        return f"ok ({len(stored)} alerts, {receipts} receipts{extra}, {incidents} incidents so far)"

    async def killed_mid_round(self, seconds: float) -> str:
        """SIGKILL this server half-way through a round of 10-alert requests, then look every 2xx answered
        before the kill up in the database (as the SIGKILL test does): an answer sent before its commit shows
        as a missing alert."""
        name = "bench-kill"
        key = self.integration(name)
        workload = Workload(phase=f"{self.tag}k", rng=random.Random(99))
        stop = asyncio.Event()

        async def kill() -> None:
            await asyncio.sleep(seconds / 2)
            self.process.send_signal(signal.SIGKILL)
            stop.set()

        result, _ = await asyncio.gather(
            drive(
                f"{self.url}/api/v1/intake",
                webhook,
                size=10,
                clients=16,
                seconds=seconds,
                workload=workload,
                headers={"Authorization": f"Bearer {key}"},
                label=f"{self.label} killed",
                stop=stop,
            ),
            kill(),
        )
        self.process.wait(30)
        return f"{self.label}: {result.alerts} alerts answered 2xx before the SIGKILL: " + self.verify(
            result, name, killed=True
        )

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        if self.pg_name and self.pg_admin:
            engine = create_engine(self.pg_admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'))
            engine.dispose()


class Alertmanager:
    """Debian's prometheus-alertmanager on loopback, no clustering."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("prometheus-alertmanager")
        assert binary
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (folder / "am.yml").write_text("route:\n  receiver: none\nreceivers:\n  - name: none\n")
        self.log = (folder / "am.log").open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={folder / 'am.yml'}",
                f"--storage.path={folder / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("alertmanager did not start")
            time.sleep(0.2)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


PHASES = tuple(
    (int(s), int(c)) for s, c in (p.split(":") for p in os.environ.get("BENCH_PHASES", "1:32,10:16,100:4").split(","))
)
# Fixed-rate phases at the targets (alerts per request : requests per second); "" for none.
RATES = tuple(
    (int(s), float(r))
    for s, r in (p.split(":") for p in os.environ.get("BENCH_RATES", "1:1500,10:500").split(",") if p)
)
TARGET_P99_MS = 50.0


def report(result: Result, check: str = "") -> None:
    kinds = result.kinds
    total = sum(kinds.values()) or 1
    share = {name: kinds[name] * 100 // total for name in ("new", "repeat", "resolve")}
    mix = f"new {share['new']}% / repeat {share['repeat']}% / resolve {share['resolve']}%"
    errors = f" errors={result.errors}" if result.errors else ""
    print(
        f"{result.label:<22} {result.size:>3}/req  "
        + (f"clients {result.clients:>2}  " if result.clients else "fixed rate  ")
        + f"{result.requests_per_second:>8.0f} req/s  {result.alerts_per_second:>8.0f} alerts/s  "
        f"p50 {result.quantile(0.50):6.1f} ms  p99 {result.quantile(0.99):6.1f} ms  [{mix}]{errors}"
        + (f"  {result.note}" if result.note else "")
        + (f"  check: {check}" if check else ""),
        flush=True,
    )


@dataclass
class Target:
    """One server under the same load: a warroom (webhooks, with the stored check) or Alertmanager."""

    label: str
    intake: str
    make_body: Any
    tag: str
    server: Warroom | None = None

    def headers(self, integration: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.server.integration(integration)}"} if self.server else {}

    async def measure(self, integration: str, load: Any) -> Result:
        if self.server is not None:
            return await self.server.phase(integration, load)
        result: Result = await load
        report(result)
        return result


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def ratio_line(results: dict[str, Result], peer: str | None, *, fixed_rate: bool) -> str:
    """warroom / Alertmanager for one round: alerts/s in closed loop; p99 at a fixed rate (both keep up)."""
    if peer is None or peer not in results:
        return ""
    theirs = results[peer]
    parts = []
    for label, ours in results.items():
        if label == peer:
            continue
        if fixed_rate:
            parts.append(f"{label} p99 x{ours.quantile(0.99) / theirs.quantile(0.99):.2f}")
        elif theirs.alerts_per_second:
            parts.append(f"{label} {ours.alerts_per_second / theirs.alerts_per_second:.2f}")
    what = "p99 latency" if fixed_rate else "alerts/s"
    return f"    ratio to alertmanager ({what}, this round): " + ", ".join(parts)


async def main_async(args: argparse.Namespace) -> None:
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    pg_admin = args.pg_url or os.environ.get("WARROOM_TEST_DATABASE_URL")
    if pg_admin:
        pg_admin = pg_admin.replace("postgres://", "postgresql+psycopg://", 1).replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
    if "postgresql" in backends and not pg_admin:
        print("postgresql: skipped (set WARROOM_TEST_DATABASE_URL or --pg-url)")
        backends.remove("postgresql")
    modes = ["normal", "full"] if args.synchronous == "both" else [args.synchronous]
    print(
        f"machine: {os.cpu_count()} cores ({cpu_model()}), python {sys.version.split()[0]}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}; {args.rounds} rounds of "
        f"{args.seconds:g} s per phase and server, {args.warmup:g} s warm-up each"
    )
    targets: list[Target] = []
    servers: list[Warroom] = []
    alertmanager: Alertmanager | None = None
    folders: list[tempfile.TemporaryDirectory[str]] = []
    verdicts: list[str] = []
    ratios: dict[tuple[str, str], list[float]] = {}
    try:
        for backend in backends:
            for mode in modes if backend == "sqlite" else ["normal"]:
                folder = tempfile.TemporaryDirectory(prefix=f"warroom-bench-{backend}-")
                folders.append(folder)
                server = Warroom(backend, pg_admin, Path(folder.name), mode)
                servers.append(server)
                targets.append(Target(server.label, f"{server.url}/api/v1/intake", webhook, server.tag, server))
        peer = None
        if shutil.which("prometheus-alertmanager") and not args.no_alertmanager:
            folder = tempfile.TemporaryDirectory(prefix="warroom-bench-am-")
            folders.append(folder)
            alertmanager = Alertmanager(Path(folder.name))
            peer = "alertmanager (memory)"
            targets.append(Target(peer, f"{alertmanager.url}/api/v2/alerts", postable, "am"))
        elif args.no_alertmanager:
            print("alertmanager: skipped (--no-alertmanager)")
        else:
            print("alertmanager: not installed (apt-get install prometheus-alertmanager) — no comparison")

        # The same warm-up for every server (imports, caches, connection pools, the JIT-less Python's first
        # requests), discarded: 10 alerts per request from 16 clients.
        for target in targets:
            warm = Workload(phase=f"{target.tag}w", rng=random.Random(0))
            result = await drive(
                target.intake,
                target.make_body,
                size=10,
                clients=16,
                seconds=args.warmup,
                workload=warm,
                headers=target.headers("bench-warmup"),
                label=target.label,
            )
            print(f"warm-up {target.label}: {result.alerts_per_second:,.0f} alerts/s (not counted)", flush=True)

        def rotated(round_index: int) -> list[Target]:
            # A different server goes first each round: none always runs on the heels of another's load.
            shift = round_index % len(targets)
            return targets[shift:] + targets[:shift]

        for size, clients in PHASES:
            phase_name = f"{size}/req x{clients} clients"
            for round_index in range(args.rounds):
                print(f"round {round_index + 1}/{args.rounds}, {phase_name}:", flush=True)
                results: dict[str, Result] = {}
                for target in rotated(round_index):
                    name = f"bench-{size}-c{round_index}"
                    workload = Workload(
                        phase=f"{target.tag}{size}c{round_index}", rng=random.Random(size * 97 + round_index)
                    )
                    results[target.label] = await target.measure(
                        name,
                        drive(
                            target.intake,
                            target.make_body,
                            size=size,
                            clients=clients,
                            seconds=args.seconds,
                            workload=workload,
                            headers=target.headers(name),
                            label=target.label,
                        ),
                    )
                if line := ratio_line(results, peer, fixed_rate=False):
                    print(line, flush=True)
                    for label, ours in results.items():
                        if peer and label != peer and results[peer].alerts_per_second:
                            ratio = ours.alerts_per_second / results[peer].alerts_per_second
                            ratios.setdefault((label, f"alerts/s at {phase_name}"), []).append(ratio)
        for size, rate in RATES:
            phase_name = f"{rate:,.0f} req/s of {size}"
            for round_index in range(args.rounds):
                print(f"round {round_index + 1}/{args.rounds}, fixed rate {phase_name}:", flush=True)
                results = {}
                for target in rotated(round_index):
                    name = f"bench-{size}-r{round_index}"
                    workload = Workload(
                        phase=f"{target.tag}{size}r{round_index}", rng=random.Random(size * 89 + round_index)
                    )
                    result = await target.measure(
                        name,
                        drive_rate(
                            target.intake,
                            target.make_body,
                            size=size,
                            rate=rate,
                            seconds=args.seconds,
                            workload=workload,
                            headers=target.headers(name),
                            label=target.label,
                            timeline=args.timeline,
                        ),
                    )
                    results[target.label] = result
                    if target.server is not None:
                        offered = rate * size
                        kept_up = result.alerts_per_second >= 0.97 * offered and not result.errors
                        verdict = "meets" if kept_up and result.quantile(0.99) < TARGET_P99_MS else "misses"
                        verdicts.append(
                            f"{target.label}, round {round_index + 1}: {offered:,.0f} alerts/s offered as "
                            f"{phase_name}: {result.alerts_per_second:,.0f} accepted/s, p99 "
                            f"{result.quantile(0.99):.1f} ms -> {verdict} the target (all answered 2xx, p99 < "
                            f"{TARGET_P99_MS:.0f} ms)"
                        )
                if line := ratio_line(results, peer, fixed_rate=True):
                    print(line, flush=True)
                    for label, ours in results.items():
                        if peer and label != peer:
                            ratio = ours.quantile(0.99) / results[peer].quantile(0.99)
                            ratios.setdefault((label, f"p99 at {phase_name}"), []).append(ratio)
        print("answered means committed (SIGKILL half-way through a round of 10-alert requests):", flush=True)
        for server in servers:
            print(f"  {await server.killed_mid_round(args.seconds)}", flush=True)
    finally:
        for server in servers:
            server.close()
        if alertmanager is not None:
            alertmanager.close()
        for folder in folders:
            folder.cleanup()
    if ratios:
        print(f"median ratio warroom / alertmanager over the rounds (min-max), load average {os.getloadavg()[0]:.2f}:")
        for (label, what), values in ratios.items():
            print(f"  {label:<24} {what:<32} {statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})")
    if verdicts:
        print("targets:")
        for line in verdicts:
            print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--synchronous", choices=["normal", "full", "both"], default="both", help="SQLite durability.")
    parser.add_argument("--seconds", type=float, default=5.0, help="Length of each round (bounded).")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds per phase; every server runs in each.")
    parser.add_argument("--warmup", type=float, default=3.0, help="Warm-up per server, the same for all.")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 s, 2 s warm-up.")
    parser.add_argument("--pg-url", help="PostgreSQL admin URL (default: WARROOM_TEST_DATABASE_URL).")
    parser.add_argument(
        "--timeline", action="store_true", help="Print p50/p99 for each second of the fixed-rate phases."
    )
    parser.add_argument("--no-alertmanager", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.warmup = min(args.seconds, 3.0), min(args.rounds, 2), min(args.warmup, 2.0)
    args.seconds = min(max(args.seconds, 1.0), 60.0)
    args.rounds = min(max(args.rounds, 1), 10)
    args.warmup = min(max(args.warmup, 0.5), 30.0)
    try:  # the client on uvloop too (a warroom dependency): it must not be what limits the figures
        import uvloop

        uvloop.run(main_async(args))
    except ImportError:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
