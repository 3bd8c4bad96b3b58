"""Status page benchmark: `/status`, `/api/v2/summary.json` and a 304 revalidation under closed-loop load,
while bench/ingest.py's alert load runs against the same warroom, and nginx serving the same bytes in the
same run.

    .venv/bin/python bench/statuspage.py                  # 10 s per measurement
    .venv/bin/python bench/statuspage.py --seconds 3      # quicker
    flock /tmp/bench.lock .venv/bin/python bench/statuspage.py

The page: 200 components in 50 groups, each with 90 days of uptime (about one bad day in ten), 3 active
incidents, maintenance, and 10,000 past incidents behind the history. By default (`--seed tables`) it is
written straight into the status page's tables (over bench/api.py's 10,000 internal incidents, with one
paused monitor and 90 daily rollups per component) and served by `warroom serve`; `--seed snapshot` serves a
generated snapshot through the public face's `SnapshotSource` seam instead (a process started like
`warroom serve`, with a `FixedSource`), which measures the face alone.

Load: `wrk` (Debian package) with fixed connections, each sending its next request when the previous one is
answered (closed loop), bounded by time. Beside every measurement, bench/ingest.py's `drive` sends
Alertmanager webhooks (10 alerts each, 4 clients) to the same warroom. nginx (Debian package, started here on
a free 127.0.0.1 port, one worker like warroom's one process) serves the bytes warroom served, as static
files, with its own ETag for the 304. Prints req/s, p50 and p99 for each, and warroom's req/s over nginx's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from warroom.statuspage.snapshot import (  # noqa: E402
    PageSnapshot,
    PublicComponent,
    PublicGroup,
    PublicIncident,
    PublicUpdate,
    UptimeDay,
)

COMPONENTS, GROUPS, PAST, DAYS = 200, 50, 10_000, 90
TARGET_RPS, TARGET_P99_MS = 2000.0, 100.0
STATUSES = ("degraded_performance", "partial_outage", "major_outage")


def generate(now: datetime, seed: int = 16) -> tuple[PageSnapshot, list[PublicIncident]]:
    """A big company's page: 200 components, 50 groups, 90 days of uptime each, 10,000 past incidents."""
    rng = random.Random(seed)
    start = now.date() - timedelta(days=DAYS)
    made = datetime(2024, 1, 1, tzinfo=UTC)
    components = []
    for n in range(COMPONENTS):
        days = []
        for d in range(DAYS):
            if rng.random() < 0.1:
                days.append(
                    UptimeDay(start + timedelta(days=d), round(rng.uniform(0.9, 0.9999), 4), rng.choice(STATUSES))
                )  # type: ignore[arg-type]
            else:
                days.append(UptimeDay(start + timedelta(days=d), 1.0, "operational"))
        status = "operational" if n % 37 else "partial_outage"
        components.append(
            PublicComponent(
                id=f"component-{n:03d}",
                name=f"Service {n:03d}",
                description=f"The service number {n}",
                status=status,
                position=n % 4,
                group_id=f"group-{n % GROUPS:02d}",
                created_at=made,  # type: ignore[arg-type]
                updated_at=now,
                uptime_days=tuple(days),
            )
        )
    groups = [
        PublicGroup(
            f"group-{g:02d}",
            f"Region {g:02d}",
            g,
            "operational",
            tuple(c.id for c in components if c.group_id == f"group-{g:02d}"),
            made,
            now,
        )
        for g in range(GROUPS)
    ]

    def incident(iid: str, kind: str, status: str, at: datetime, updates: int) -> PublicIncident:
        ups = tuple(
            PublicUpdate(
                f"{iid}-u{u}",
                status,
                f"Update {u} of {iid}: we are working on it and will post again.",  # type: ignore[arg-type]
                at + timedelta(minutes=10 * u),
                at + timedelta(minutes=10 * u),
                (f"component-{u:03d}",),
            )
            for u in reversed(range(updates))
        )
        resolved = status in ("resolved", "completed")
        return PublicIncident(
            id=iid,
            kind=kind,
            name=f"Incident {iid} affecting some services",
            status=status,  # type: ignore[arg-type]
            impact="maintenance" if kind == "maintenance" else rng.choice(("minor", "major", "critical")),  # type: ignore[arg-type]
            created_at=at,
            updated_at=ups[0].created_at,
            started_at=at,
            monitoring_at=None,
            resolved_at=ups[0].created_at if resolved else None,
            component_ids=("component-001", "component-002"),
            updates=ups,
            scheduled_for=at if kind == "maintenance" else None,
            scheduled_until=at + timedelta(hours=2) if kind == "maintenance" else None,
        )

    active = tuple(incident(f"active-{i}", "incident", "identified", now - timedelta(hours=i + 1), 3) for i in range(3))
    maint = (
        incident("maint-now", "maintenance", "in_progress", now - timedelta(minutes=30), 2),
        incident("maint-later", "maintenance", "scheduled", now + timedelta(days=2), 1),
    )
    past = [
        incident(f"past-{i:05d}", "incident", "resolved", now - timedelta(hours=6 * (i + 1)), 2) for i in range(PAST)
    ]
    snapshot = PageSnapshot(
        name="Bench Corp",
        url="https://status.bench.example",
        time_zone="UTC",
        updated_at=now,
        version="bench-1",
        indicator="major",
        description="Partial System Outage",
        components=tuple(components),
        groups=tuple(groups),
        incidents=active,
        maintenances=maint,
    )
    return snapshot, past


def seed_tables(url: str, now: datetime, seed: int = 16) -> None:
    """The same page written straight into the status page's tables (and bench/api.py's 10,000 internal
    incidents behind them), with one paused monitor per component and 90 daily rollups each."""
    from sqlalchemy import delete, insert

    from warroom import db as dbmod
    from warroom.monitors.models import Monitor, MonitorRollup
    from warroom.statuspage.models import (
        StatusComponent,
        StatusGroup,
        StatusIncident,
        StatusIncidentComponent,
        StatusMaintenance,
        StatusMaintenanceComponent,
        StatusPageVersion,
        StatusUpdate,
    )

    sys.path.insert(0, str(ROOT / "bench"))
    import api as api_bench  # type: ignore[import-not-found]

    rng = random.Random(seed)
    dbmod.upgrade(url)
    api_bench.load(url, PAST, 2, now, seed)  # the internal incidents the public ones stand for
    engine = dbmod.make_engine(url, pool_size=1)
    made = datetime(2024, 1, 1, tzinfo=UTC)
    first_day = datetime.combine(now.date() - timedelta(days=DAYS - 1), datetime.min.time(), tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(StatusGroup.__table__),
            [
                {
                    "id": g + 1,
                    "public_id": f"group-{g:02d}",
                    "name": f"Region {g:02d}",
                    "position": g,
                    "source": "api",
                    "created_at": made,
                    "updated_at": now,
                }
                for g in range(GROUPS)
            ],
        )
        conn.execute(
            insert(StatusComponent.__table__),
            [
                {
                    "id": n + 1,
                    "public_id": f"component-{n:03d}",
                    "name": f"Service {n:03d}",
                    "description": f"The service number {n}",
                    "group_id": n % GROUPS + 1,
                    "position": n // GROUPS,
                    "services": [f"svc-{n:03d}"],
                    "source": "api",
                    "override_reason": "",
                    "created_at": made,
                    "updated_at": now,
                }
                for n in range(COMPONENTS)
            ],
        )
        conn.execute(
            insert(Monitor.__table__),
            [
                {
                    "id": n + 1,
                    "name": f"svc-{n:03d}-http",
                    "service": f"svc-{n:03d}",
                    "type": "http",
                    "source": "api",
                    "spec": {"url": f"http://127.0.0.1:9/{n}"},
                    "interval_s": 60.0,
                    "severity": "P3",
                    "paused": True,
                    "version": 1,
                    "created_at": made,
                    "updated_at": now,
                    "state": "up",
                    "state_since": made,
                }
                for n in range(COMPONENTS)
            ],
        )
        rollups = []
        for n in range(COMPONENTS):
            for d in range(DAYS):
                bad = rng.random() < 0.1
                checks = 1440
                rollups.append(
                    {
                        "monitor_id": n + 1,
                        "resolution": "d",
                        "bucket": first_day + timedelta(days=d),
                        "checks": checks,
                        "up": int(checks * rng.uniform(0.9, 0.9999)) if bad else checks,
                        "latency_sum_ms": 50.0 * checks,
                        "latency_max_ms": 300.0,
                    }
                )
        for i in range(0, len(rollups), 2000):
            conn.execute(insert(MonitorRollup.__table__), rollups[i : i + 2000])
        incidents, links, updates = [], [], []
        for number in range(1, PAST + 1):
            active = number > PAST - 3
            at = now - timedelta(hours=6 * (PAST - number) + 1)
            end = at + timedelta(minutes=40)
            incidents.append(
                {
                    "id": number,
                    "public_id": f"pub{number:05d}",
                    "incident_id": number,
                    "title": f"Incident {number} affecting some services",
                    "status": "identified" if active else "resolved",
                    "impact": rng.choice(("minor", "major", "critical")),
                    "impact_chosen": True,
                    "published_by": "bench",
                    "created_at": at,
                    "updated_at": end,
                    "monitoring_at": None,
                    "resolved_at": None if active else end,
                }
            )
            links.append({"status_incident_id": number, "component_id": number % COMPONENTS + 1})
            for u, (status, when) in enumerate((("investigating", at), ("identified" if active else "resolved", end))):
                updates.append(
                    {
                        "public_id": f"up{number:05d}{u}",
                        "incident_id": number,
                        "maintenance_id": None,
                        "status": status,
                        "body": f"Update {u} of incident {number}: we will post again.",
                        "created_by": "bench",
                        "created_at": when,
                        "display_at": when,
                    }
                )
        for table, rows in ((StatusIncident, incidents), (StatusIncidentComponent, links), (StatusUpdate, updates)):
            for i in range(0, len(rows), 2000):
                conn.execute(insert(table.__table__), rows[i : i + 2000])
        conn.execute(
            insert(StatusMaintenance.__table__),
            [
                {
                    "id": 1,
                    "public_id": "maint-later",
                    "title": "Database upgrade",
                    "status": "scheduled",
                    "starts_at": now + timedelta(days=2),
                    "ends_at": now + timedelta(days=2, hours=2),
                    "created_by": "bench",
                    "created_at": now,
                    "updated_at": now,
                },
            ],
        )
        conn.execute(insert(StatusMaintenanceComponent.__table__), [{"maintenance_id": 1, "component_id": 1}])
        conn.execute(
            insert(StatusUpdate.__table__),
            [
                {
                    "public_id": "upmaint1",
                    "incident_id": None,
                    "maintenance_id": 1,
                    "status": "scheduled",
                    "body": "We will upgrade the database; no downtime expected.",
                    "created_by": "bench",
                    "created_at": now,
                    "display_at": now,
                },
            ],
        )
        conn.execute(delete(StatusPageVersion.__table__))
        conn.execute(insert(StatusPageVersion.__table__), [{"id": 1, "counter": 1, "changed_at": now}])
    engine.dispose()


def serve(snapshot_file: Path) -> None:
    """Run warroom as `warroom serve` does, with the status page showing the pickled snapshot."""
    import uvicorn

    from warroom.app import create_app
    from warroom.config import Settings
    from warroom.server import bind, configure_logging, ensure_admin_token, freeze_heap, prepare
    from warroom.statuspage.source import FixedSource

    settings = Settings()
    configure_logging(settings)
    runtime = prepare(settings, migrate=True)
    runtime.run_engine = True
    snapshot, past = pickle.loads(snapshot_file.read_bytes())
    runtime.extras["statuspage_source"] = FixedSource(snapshot, past)
    sock = bind(settings.host, settings.port)
    ensure_admin_token(runtime)
    app = create_app(runtime)
    freeze_heap()
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", log_config=None, access_log=False
    )
    uvicorn.Server(config).run(sockets=[sock])


def ingest_load(url: str, seconds: float) -> None:
    """bench/ingest.py's closed-loop webhook load (10 alerts a request, 4 clients) for `seconds`."""
    sys.path.insert(0, str(ROOT / "bench"))
    import ingest  # type: ignore[import-not-found]

    workload = ingest.Workload(phase=f"sp{os.getpid()}", rng=random.Random(7))
    result = asyncio.run(
        ingest.drive(
            url, ingest.webhook, size=10, clients=4, seconds=seconds, workload=workload, headers={}, label="ingest"
        )
    )
    print(
        f"{result.requests_per_second:.0f} {result.alerts_per_second:.0f} {result.quantile(0.99):.1f} "
        f"{sum(result.errors.values())}"
    )


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: float, connections: int, headers: dict[str, str]) -> dict[str, float]:
    """Closed-loop load with wrk: requests/s, p50 and p99 in ms, non-2xx/3xx count."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60).stdout
    figures: dict[str, float] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        figures[f"p{pct}"] = float(match.group(1)) * UNITS[match.group(2)] if match else float("nan")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    figures["bad"] = float(bad.group(1)) if bad else 0.0
    errors = re.search(r"Socket errors: (.*)", out)
    figures["socket_errors"] = 0.0 if not errors else float(sum(int(n) for n in re.findall(r"\d+", errors.group(1))))
    return figures


def start_nginx(folder: Path, port: int) -> subprocess.Popen[bytes]:
    sys.path.insert(0, str(ROOT))
    from tests.peers import debian_program

    nginx = debian_program("nginx", "nginx")
    (folder / "logs").mkdir(exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
user root;
daemon off;
error_log {folder}/logs/error.log warn;
pid {folder}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/tmp; proxy_temp_path {folder}/tmp; fastcgi_temp_path {folder}/tmp;
    uwsgi_temp_path {folder}/tmp; scgi_temp_path {folder}/tmp;
    sendfile on; tcp_nopush on; keepalive_requests 1000000;
    types {{ text/html html; application/json json; }}
    server {{
        listen 127.0.0.1:{port};
        root {folder}/www;
        gzip_static on;
        location = /status {{ default_type "text/html; charset=utf-8"; try_files /status.html =404; }}
        location = /api/v2/summary.json {{ try_files /summary.json =404; }}
    }}
}}
""")
    (folder / "tmp").mkdir(exist_ok=True)
    process = subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "logs" / "stderr.log").open("wb"),
    )
    wait_up(f"http://127.0.0.1:{port}/status", process)
    return process


def wait_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server exited")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {timeout:.0f} s")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measurement (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--no-ingest", action="store_true", help="without the alert load beside")
    parser.add_argument(
        "--seed",
        choices=("tables", "snapshot"),
        default="tables",
        help="write the page into the status page's tables (default), or serve a generated snapshot",
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ingest", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    if args.ingest:
        ingest_load(args.ingest[0], float(args.ingest[1]))
        return 0
    if shutil.which("wrk") is None:
        sys.path.insert(0, str(ROOT))
        from tests.peers import debian_program

        debian_program("wrk", "wrk")

    folder = Path(tempfile.mkdtemp(prefix="warroom-statuspage-bench-"))
    os.chmod(folder, 0o755)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        database_url = f"sqlite:///{folder / 'warroom.db'}"
        (folder / "warroom.yaml").write_text(
            "services:\n  - name: checkout\n  - name: payments\n"
            "status_page:\n  name: Bench Corp\n  url: https://status.bench.example\n"
        )
        if args.seed == "tables":
            seed_tables(database_url, now)
            command = [sys.executable, "-m", "warroom", "serve"]
            how = "straight into the status page's tables, served by `warroom serve`"
        else:
            snapshot, past = generate(now)
            (folder / "snapshot.pickle").write_bytes(pickle.dumps((snapshot, past)))
            command = [sys.executable, __file__, "--serve", str(folder / "snapshot.pickle")]
            how = "through the SnapshotSource seam: a FixedSource in the served process"
        print(
            f"seeded {COMPONENTS} components, {GROUPS} groups, {PAST} past incidents, {DAYS} days of uptime "
            f"each, in {time.perf_counter() - started:.1f} s ({how})"
        )
        port = free_port()
        env = {
            **os.environ,
            "WARROOM_DATA_DIR": str(folder / "data"),
            "WARROOM_PORT": str(port),
            "WARROOM_CONFIG": str(folder / "warroom.yaml"),
            "WARROOM_LOG_LEVEL": "warning",
            "WARROOM_DATABASE_URL": database_url,
        }
        env.pop("WARROOM_TOKEN", None)
        log = (folder / "warroom.log").open("wb")
        server = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(server)
        base = f"http://127.0.0.1:{port}"
        wait_up(f"{base}/ready", server)
        token = (folder / "data" / "admin-token").read_text().strip()
        key = httpx.post(
            f"{base}/api/v1/integrations",
            json={"name": "bench", "type": "alertmanager"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()["key"]
        intake = f"{base}/api/v1/intake/{key}"

        gz = {"Accept-Encoding": "gzip"}  # what every browser sends; both servers send the same gzip bytes
        page = httpx.get(f"{base}/status")
        summary = httpx.get(f"{base}/api/v2/summary.json")
        assert page.status_code == summary.status_code == 200
        www = folder / "www"
        www.mkdir()
        for name, path, plain in (("status.html", "/status", page), ("summary.json", "/api/v2/summary.json", summary)):
            (www / name).write_bytes(plain.content)
            with httpx.stream("GET", f"{base}{path}", headers=gz) as response:
                assert response.headers["content-encoding"] == "gzip"
                (www / f"{name}.gz").write_bytes(b"".join(response.iter_raw()))
        print(
            f"/status is {len(page.content) / 1024:.0f} KiB ({(www / 'status.html.gz').stat().st_size / 1024:.0f} "
            f"KiB gzip), summary.json {len(summary.content) / 1024:.0f} KiB "
            f"({(www / 'summary.json.gz').stat().st_size / 1024:.0f} KiB gzip)"
        )
        nginx_port = free_port()
        processes.append(start_nginx(folder, nginx_port))
        nbase = f"http://127.0.0.1:{nginx_port}"
        assert httpx.get(f"{nbase}/status").content == page.content
        with httpx.stream("GET", f"{nbase}/status", headers=gz) as response:
            assert b"".join(response.iter_raw()) == (www / "status.html.gz").read_bytes()
            nginx_etag = response.headers["etag"]

        targets = [
            ("/status", f"{base}/status", f"{nbase}/status", gz, gz),
            ("/status (no gzip)", f"{base}/status", f"{nbase}/status", {}, {}),
            ("/api/v2/summary.json", f"{base}/api/v2/summary.json", f"{nbase}/api/v2/summary.json", gz, gz),
            (
                "/status 304",
                f"{base}/status",
                f"{nbase}/status",
                {**gz, "If-None-Match": page.headers["etag"]},
                {**gz, "If-None-Match": nginx_etag},
            ),
        ]
        wrk(f"{base}/status", 2, 8, gz)  # warm-up: first renders, connections, caches
        wrk(f"{nbase}/status", 2, 8, gz)
        rows = []
        for label, ours, theirs, our_headers, their_headers in targets:
            pair = {}
            for who, url, headers in (("warroom", ours, our_headers), ("nginx", theirs, their_headers)):
                beside = None
                if not args.no_ingest:
                    beside = subprocess.Popen(
                        [sys.executable, __file__, "--ingest", intake, str(args.seconds + 1)],
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                figures = wrk(url, args.seconds, args.connections, headers)
                if beside is not None:
                    out = (beside.communicate(timeout=120)[0] or "").split()
                    figures["ingest_rps"] = float(out[0]) if out else float("nan")
                    figures["ingest_p99"] = float(out[2]) if len(out) > 2 else float("nan")
                pair[who] = figures
            rows.append((label, pair))
        print()
        print(f"{'route':<22} {'server':<8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  alerts beside")
        for label, pair in rows:
            for who, f in pair.items():
                beside_text = (
                    "" if "ingest_rps" not in f else f"{f['ingest_rps']:.0f} req/s, p99 {f['ingest_p99']:.0f} ms"
                )
                print(
                    f"{label:<22} {who:<8} {f['rps']:>8.0f} {f['p50']:>8.2f} {f['p99']:>8.2f} "
                    f"{f['bad'] + f['socket_errors']:>7.0f}  {beside_text}"
                )
            print(f"{'':<22} {'ratio':<8} {pair['warroom']['rps'] / pair['nginx']['rps']:>8.2f}  (warroom / nginx)")
        status = rows[0][1]["warroom"]
        ok = status["rps"] >= TARGET_RPS and status["p99"] < TARGET_P99_MS
        print(
            f"\n/status target (>= {TARGET_RPS:.0f} req/s, p99 < {TARGET_P99_MS:.0f} ms): "
            f"{'met' if ok else 'NOT met'} ({status['rps']:.0f} req/s, p99 {status['p99']:.1f} ms)"
        )
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
