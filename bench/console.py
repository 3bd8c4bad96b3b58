"""Console speed (issue 15): `python bench/console.py [--quick] [--backend sqlite|postgresql|both]`.

For each backend it creates a fresh database, bulk-loads 100,000 incidents and about 1,000,000 timeline events
(bench/api.py's generator: 99,999 incidents of 10 events, and one incident with 2,000), starts `warroom serve`
on 127.0.0.1 in a child process, logs in to the console through its login form (a session cookie, as a
browser does) and times

    GET /incidents              the console's incident list page (open first)
    GET /incidents/{big}        the console's page of the incident with 2,000 timeline events

with one keep-alive client. Then it connects 200 SSE clients to `/api/v1/incidents/{big}/events/stream` on the
same process, starts bench/ingest.py's load generator (Alertmanager webhooks of 10 alerts, its `drive`) in
another process against the same server, and posts notes through the API: for each note and each client it
measures the delay from the POST's start and from its return to the client's receipt of the event. Every
client must receive every note. Prints the figures and the targets (pages p99 < 150 ms, live p99 < 500 ms);
exit status 1 when a target is missed.

Bounded: requests and notes are counted, every phase has a time limit, and everything is on 127.0.0.1.
PostgreSQL: a database `warroom_bench_<pid>` next to WARROOM_TEST_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/test), dropped at the end; skipped when unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import math
import multiprocessing as mp
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import httpx
from sqlalchemy import text

from warroom import db as dbmod

HERE = Path(__file__).resolve().parent
PAGE_TARGET_P99_MS = 150.0
LIVE_TARGET_P99_MS = 500.0
PASSWORD = "bench console password"  # a throwaway account of a throwaway database


def _bench_module(name: str) -> ModuleType:
    """bench/<name>.py (the benches are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


api = _bench_module("api")
ingest = _bench_module("ingest")


# ---------------------------------------------------------------------------------------------------------------
# The data set


def big_incident(number: int, first_event_id: int, events: int, now: datetime, rng: random.Random) -> Any:
    """One open P1 incident with `events` timeline events over the last two days (declared first)."""
    chunk = api.Chunk()
    created = now - timedelta(days=2)
    services = ["checkout", "payments-gateway"]
    title = "checkout: 5xx errors in eu-west-1 (the long one)"
    chunk.incidents.append(
        {
            "id": number,
            "title": title,
            "description": "Customers see 5xx errors in eu-west-1.",
            "severity": "P1",
            "status": "investigating",
            "commander": "alice",
            "created_by": "alice",
            "impact": "Some customers cannot complete checkout.",
            "labels": {"team": "team-checkout", "region": "eu-west-1"},
            "started_at": created - timedelta(minutes=10),
            "detected_at": created - timedelta(minutes=2),
            "created_at": created,
            "updated_at": now,
            "acknowledged_at": created + timedelta(minutes=3),
            "responded_at": created + timedelta(minutes=8),
            "identified_at": None,
            "mitigated_at": None,
            "resolved_at": None,
            "last_update_at": now - timedelta(minutes=5),
        }
    )
    chunk.services.extend({"incident_id": number, "service": s} for s in services)
    step = (now - created) / events
    for i in range(events):
        at = created + step * i
        if i == 0:
            kind, message, data = "declared", title, {"severity": "P1", "services": services}
        elif i == 1:
            kind, message, data = "acknowledged", "", {"from": "triggered", "to": "acknowledged"}
        elif i == 2:
            kind, message, data = "status_changed", "", {"from": "acknowledged", "to": "investigating"}
        elif i % 10 == 0:
            kind, message, data = (
                "update",
                "Still investigating: next update in 30 minutes.",
                {"status": "investigating"},
            )
        elif i % 3 == 0:
            kind, message = "alert_attached", f"Alert HighErrorRate on host-{rng.randint(1, 400)} attached."
            data = {"fingerprint": f"{rng.getrandbits(64):016x}"}
        else:
            kind, message, data = "note", f"{rng.choice(api.PEOPLE)} is looking at the checkout dashboards.", {}
        chunk.events.append(
            {
                "id": first_event_id + i,
                "incident_id": number,
                "at": at,
                "kind": kind,
                "actor": "alice",
                "actor_kind": "user",
                "message": message,
                "data": data,
            }
        )
    return chunk


def seed(
    url: str, incidents: int, per_incident: int, big_events: int, now: datetime, seed_value: int
) -> tuple[int, int]:
    """Fill the migrated database: incidents-1 ordinary ones, then the big one (the newest). (incidents, events)."""

    def chunks() -> Iterator[Any]:
        events = 0
        for chunk in api.generate(incidents - 1, per_incident, now - timedelta(days=2), seed_value):
            events += len(chunk.events)
            yield chunk
        yield big_incident(incidents, events + 1, big_events, now, random.Random(seed_value))

    loaded: tuple[int, int] = api.load_chunks(url, chunks())
    return loaded


# ---------------------------------------------------------------------------------------------------------------
# The server


class Server:
    """`warroom serve` (API, console, engine, live feed) in its own process on the loaded database."""

    def __init__(self, database_url: str, folder: Path) -> None:
        self.folder = folder
        self.port = api.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (folder / "warroom.yaml").write_text(ingest.CONFIG)
        self.env = {
            **os.environ,
            "WARROOM_DATA_DIR": str(folder),
            "WARROOM_DATABASE_URL": database_url,
            "WARROOM_CONFIG": str(folder / "warroom.yaml"),
            "WARROOM_PORT": str(self.port),
            "WARROOM_HOST": "127.0.0.1",
            "WARROOM_LOG_LEVEL": "warning",
        }
        # The console account the page client logs in with, made as an operator would.
        subprocess.run(
            [sys.executable, "-m", "warroom", "user", "set-password", "bench", "--role", "admin", "--password-stdin"],
            env=self.env,
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        self.process, self.log = ingest.start_serve(self.url, self.env, folder, timeout=120)
        self.token = (folder / "admin-token").read_text().strip()

    def close(self) -> float:
        """Stop it (SIGTERM, with the SSE clients still connected if any); the seconds it took."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.close()
        return time.monotonic() - started


# ---------------------------------------------------------------------------------------------------------------
# Pages


def logged_in(base: str) -> httpx.Client:
    """A client with a console session, from the login form as a browser gets it."""
    http = httpx.Client(base_url=base, timeout=30)
    form = http.get("/login")
    form.raise_for_status()
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if found is None:
        raise SystemExit("the login page has no CSRF token")
    answer = http.post(
        "/login",
        data={"username": "bench", "password": PASSWORD, "csrf_token": found.group(1), "next": "/incidents"},
        follow_redirects=False,
    )
    if answer.status_code != 303:
        raise SystemExit(f"console login failed: {answer.status_code}")
    return http


@dataclass
class Row:
    """One measured thing: its latencies in ms."""

    backend: str
    what: str
    latencies: list[float]
    target: float
    errors: int = 0
    note: str = ""

    def pct(self, p: float) -> float:
        """The p-th percentile (nearest rank), NaN when empty."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    @property
    def ok(self) -> bool:
        """Met its target, with no errors."""
        return bool(self.latencies) and self.errors == 0 and self.pct(99) < self.target


def time_page(
    backend: str, base: str, label: str, path: str, requests: int, warmup: int, seconds: float, token: str = ""
) -> Row:
    """`requests` GETs of `path` one after the other through a logged-in session (after `warmup` untimed), or
    with `token` as the bearer (the API's routes, for comparison)."""
    latencies: list[float] = []
    errors = 0
    size = 0
    if token:
        http = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
    else:
        http = logged_in(base)
    try:
        for _ in range(warmup):
            http.get(path)
        deadline = time.monotonic() + seconds
        while len(latencies) < requests and time.monotonic() < deadline:
            started = time.perf_counter()
            answer = http.get(path)
            latencies.append((time.perf_counter() - started) * 1000)
            size = len(answer.content)
            errors += answer.status_code != 200
    finally:
        http.close()
    return Row(backend, label, latencies, PAGE_TARGET_P99_MS, errors, f"{size / 1024:.0f} KiB")


# ---------------------------------------------------------------------------------------------------------------
# Live updates


def intake_load(url: str, key: str, seconds: float, clients: int, out: Any) -> None:
    """Child process: bench/ingest.py's closed-loop load (10 alerts per request) for `seconds`."""
    workload = ingest.Workload(phase="console", rng=random.Random(7))
    result = asyncio.run(
        ingest.drive(
            f"{url}/api/v1/intake",
            ingest.webhook,
            size=10,
            clients=clients,
            seconds=seconds,
            workload=workload,
            headers={"Authorization": f"Bearer {key}"},
            label="intake",
        )
    )
    out.put((result.requests, result.alerts, result.seconds, result.quantile(0.99), dict(result.errors)))


@dataclass
class Live:
    """What the SSE clients saw."""

    from_start: list[float] = field(default_factory=list)  # ms from the POST's start to each receipt
    from_return: list[float] = field(default_factory=list)  # ms from the POST's return (negative: before it)
    missing: int = 0
    connected: int = 0
    intake: str = ""
    stop_seconds: float = 0.0


async def live_delays(server: Server, number: int, clients: int, notes: int, spacing: float, load_clients: int) -> Live:
    """Connect `clients` SSE readers, start the intake load beside them, post `notes` notes; the delays."""
    arrivals: list[dict[int, float]] = [{} for _ in range(clients)]
    connected = 0
    all_connected = asyncio.Event()
    headers = {"Authorization": f"Bearer {server.token}"}
    stream_url = f"{server.url}/api/v1/incidents/{number}/events/stream"
    live = Live()

    async def reader(index: int, http: aiohttp.ClientSession) -> None:
        nonlocal connected
        async with http.get(stream_url, headers=headers) as response:
            if response.status != 200:
                raise SystemExit(f"SSE client {index}: {response.status}")
            connected += 1
            if connected == clients:
                all_connected.set()
            async for line in response.content:
                if line.startswith(b"id:"):
                    arrivals[index][int(line[3:])] = time.perf_counter()

    key_answer = httpx.post(
        f"{server.url}/api/v1/integrations", json={"name": "bench-console", "type": "alertmanager"}, headers=headers
    )
    key_answer.raise_for_status()
    key = key_answer.json()["key"]
    load_seconds = 3 + notes * spacing + 2
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=None)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        readers = [asyncio.create_task(reader(i, http)) for i in range(clients)]
        await asyncio.wait_for(all_connected.wait(), 60)
        live.connected = connected
        out: Any = mp.get_context("spawn").SimpleQueue()
        load = mp.get_context("spawn").Process(
            target=intake_load, args=(server.url, key, load_seconds, load_clients, out), daemon=True
        )
        load.start()
        await asyncio.sleep(3)  # the load generator's start-up, then its load is on
        posted: list[tuple[int, float, float]] = []
        async with aiohttp.ClientSession(headers=headers) as poster:
            for i in range(notes):
                started = time.perf_counter()
                async with poster.post(
                    f"{server.url}/api/v1/incidents/{number}/notes", json={"message": f"bench note {i}"}
                ) as answer:
                    body = await answer.json()
                returned = time.perf_counter()
                posted.append((int(body["id"]), started, returned))
                await asyncio.sleep(spacing)
        deadline = time.perf_counter() + 5
        while time.perf_counter() < deadline and not all(
            event_id in seen for seen in arrivals for event_id, _, _ in posted
        ):
            await asyncio.sleep(0.05)
        for event_id, started, returned in posted:
            for seen in arrivals:
                if event_id in seen:
                    live.from_start.append((seen[event_id] - started) * 1000)
                    live.from_return.append((seen[event_id] - returned) * 1000)
                else:
                    live.missing += 1
        load.join(load_seconds + 60)
        if not out.empty():
            requests, alerts, seconds, p99, errors = out.get()
            live.intake = (
                f"intake beside it: {requests:,} requests, {alerts / seconds:,.0f} alerts/s, p99 {p99:.0f} ms"
                + (f", errors {errors}" if errors else "")
            )
        # Stop the server with every SSE client still connected: each stream ends, so it stops promptly.
        live.stop_seconds = await asyncio.to_thread(server.close)
        _done, pending = await asyncio.wait(readers, timeout=10)
        for task in pending:
            task.cancel()
    return live


# ---------------------------------------------------------------------------------------------------------------
# One backend


def run_backend(backend: str, url: str, args: argparse.Namespace, folder: Path) -> list[Row]:
    """Migrate, seed, serve, measure pages then live updates."""
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    dbmod.upgrade(url)
    t1 = time.perf_counter()
    incidents, events = seed(url, args.incidents, args.events_per_incident, args.big_events, now, args.seed)
    t2 = time.perf_counter()
    print(
        f"{backend}: migrated in {t1 - t0:.1f} s; loaded {incidents:,} incidents and {events:,} events in "
        f"{t2 - t1:.1f} s ({(incidents + events) / (t2 - t1):,.0f} rows/s)",
        flush=True,
    )
    server = Server(url, folder)
    rows: list[Row] = []
    try:
        for label, path in (
            ("console GET /incidents", "/incidents"),
            ("console GET /incidents/{big}", f"/incidents/{incidents}"),
        ):
            row = time_page(backend, server.url, label, path, args.requests, args.warmup, args.max_seconds)
            rows.append(row)
            print(f"  {label}: p50 {row.pct(50):.1f} ms, p99 {row.pct(99):.1f} ms ({row.note})", flush=True)
        # The same reads through the API (JSON, bearer token), for comparison: what the pages add to them.
        for label, path in (
            ("api GET /api/v1/incidents?open", "/api/v1/incidents?status=open&limit=50"),
            ("api GET /api/v1/incidents/{big}", f"/api/v1/incidents/{incidents}"),
        ):
            row = time_page(
                backend, server.url, label, path, args.requests, args.warmup, args.max_seconds, token=server.token
            )
            rows.append(row)
            print(f"  {label}: p50 {row.pct(50):.1f} ms, p99 {row.pct(99):.1f} ms ({row.note})", flush=True)
        live = asyncio.run(
            live_delays(server, incidents, args.sse_clients, args.notes, args.note_spacing, args.load_clients)
        )
        note = f"{live.connected} clients x {args.notes} notes"
        if live.intake:
            note += f"; {live.intake}"
        rows.append(
            Row(backend, "live: POST start -> SSE receipt", live.from_start, LIVE_TARGET_P99_MS, live.missing, note)
        )
        rows.append(
            Row(
                backend,
                "live: POST return -> SSE receipt",
                live.from_return,
                LIVE_TARGET_P99_MS,
                live.missing,
                f"serve stopped in {live.stop_seconds:.2f} s with {live.connected} streams open",
            )
        )
        for row in rows[-2:]:
            print(f"  {row.what}: p50 {row.pct(50):.1f} ms, p99 {row.pct(99):.1f} ms, missing {row.errors}", flush=True)
    finally:
        server.close()
    return rows


def table(rows: list[Row]) -> str:
    """The figures as aligned text, each with its target."""
    head = f"{'backend':<11}{'what':<36}{'n':>7}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}{'target':>9}  verdict"
    lines = [head, "-" * len(head)]
    for r in rows:
        worst = max(r.latencies) if r.latencies else math.nan
        lines.append(
            f"{r.backend:<11}{r.what:<36}{len(r.latencies):>7}{r.pct(50):>9.1f}{r.pct(95):>9.1f}{r.pct(99):>9.1f}"
            f"{worst:>9.1f}{'<' + format(r.target, '.0f'):>9}  {'ok' if r.ok else 'MISSED'}"
            + (f" ({r.errors} errors/missing)" if r.errors else "")
        )
        if r.note:
            lines.append(f"{'':<11}  {r.note}")
    lines.append(
        "ms; console pages through a logged-in session, api rows with a bearer token, one keep-alive client;"
        " live: every client, every note"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run each backend, print the table and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a small run: 2,000 incidents, 50 SSE clients, 5 notes")
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--events-per-incident", type=int, default=10)
    parser.add_argument("--big-events", type=int, default=2_000, help="timeline events of the big incident")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--max-seconds", type=float, default=60, help="time limit per page")
    parser.add_argument("--sse-clients", type=int, default=200)
    parser.add_argument("--notes", type=int, default=20)
    parser.add_argument("--note-spacing", type=float, default=0.25, help="seconds between notes")
    parser.add_argument("--load-clients", type=int, default=4, help="connections of the intake load")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    if args.quick:
        args.incidents, args.requests, args.sse_clients, args.notes = 2_000, 50, 50, 5
    if args.incidents < 200 or args.big_events < 3 or args.sse_clients < 1 or args.notes < 1:
        parser.error("need at least 200 incidents, 3 big-incident events, 1 SSE client and 1 note")
    print(
        f"warroom console bench: {args.incidents:,} incidents ({args.big_events:,} events on the big one, "
        f"{args.events_per_incident} on the others), {args.sse_clients} SSE clients, {args.notes} notes, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="warroom-console-bench-"))
    rows: list[Row] = []
    skipped: list[str] = []
    try:
        if args.backend in ("sqlite", "both"):
            folder = workdir / "sqlite"
            folder.mkdir()
            rows += run_backend("sqlite", f"sqlite:///{folder / 'warroom.db'}", args, folder)
        if args.backend in ("postgresql", "both"):
            try:
                admin, name, url = api.create_pg_database(os.environ.get("WARROOM_TEST_DATABASE_URL") or api.DEFAULT_PG)
            except api.Unavailable as exc:
                skipped.append(f"postgresql skipped: cannot create a database ({exc})")
                print(skipped[-1], flush=True)
            else:
                try:
                    folder = workdir / "postgresql"
                    folder.mkdir()
                    rows += run_backend("postgresql", url, args, folder)
                finally:
                    with admin.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    admin.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    for line in skipped:
        print(line)
    print(table(rows))
    if not rows:
        print("FAIL: nothing was measured")
        return 1
    ok = all(r.ok for r in rows)
    pages = [r for r in rows if r.what.startswith(("console", "api"))]
    lives = [r for r in rows if r.what.startswith("live")]
    worst_page = max((r.pct(99) for r in pages), default=math.nan)
    worst_live = max((r.pct(99) for r in lives), default=math.nan)
    print(
        f"{'PASS' if ok else 'FAIL'}: pages p99 < {PAGE_TARGET_P99_MS:.0f} ms (worst {worst_page:.1f} ms); "
        f"live p99 < {LIVE_TARGET_P99_MS:.0f} ms (worst {worst_live:.1f} ms)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
