"""Health-check scheduler at scale: N HTTP monitors at a 10 s interval against a local nginx, and
prometheus-blackbox-exporter probing the same target at the same rate, in the same run.

    .venv/bin/python bench/monitors.py                 # N = 1,000 10,000 20,000, 35 s each
    .venv/bin/python bench/monitors.py --n 10000 --seconds 40 --database postgresql://postgres@127.0.0.1/bench

Installs nginx and prometheus-blackbox-exporter with apt-get when missing, starts nginx on 127.0.0.1 with its
own config in a temporary folder (not the system service). For each N the warroom engine (the monitor
scheduler, writing every result to the database) runs in a child process; after one interval of warm-up
(every monitor has started once) it measures for the rest of the run: checks/s, start delay p50/p99 (from
each check's due time to when it actually started), false failures (any result not `up`: nginx is healthy),
checks shed or inconclusive, the process's CPU % of one core and its RSS. Then blackbox_exporter gets
/probe requests at the same rate from a driver process, and its CPU % is measured the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

INTERVAL = 10.0
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def ensure_packages() -> None:
    """nginx and prometheus-blackbox-exporter from Debian, installed when missing."""
    missing = [
        p
        for p, exe in (("nginx", "nginx"), ("prometheus-blackbox-exporter", "prometheus-blackbox-exporter"))
        if shutil.which(exe) is None and not Path(f"/usr/sbin/{exe}").exists()
    ]
    if not missing:
        return
    print(f"installing {' '.join(missing)} ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if (
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", *missing], env=env, capture_output=True
        ).returncode
        != 0
    ):
        subprocess.run(["apt-get", "update"], env=env, check=True, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", *missing], env=env, check=True, capture_output=True
        )


def start_nginx(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    """nginx in the foreground with a config of our own; /health answers {"status":"ok"}."""
    port = free_port()
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / sub).mkdir(exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
worker_rlimit_nofile 65536;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=8192;
        location /health {{ default_type application/json; return 200 '{{"status":"ok"}}'; }}
    }}
}}
""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(directory)], stderr=subprocess.DEVNULL)
    wait_port(port)
    return process, port


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


# -- the warroom side -------------------------------------------------------------------------------------------


def prepare_database(url: str, n: int, port: int) -> None:
    """A migrated database holding N http monitors against nginx."""
    from sqlalchemy import insert

    from warroom import db as dbmod
    from warroom.clock import SystemClock
    from warroom.monitors.models import Monitor
    from warroom.monitors.schemas import MonitorConfig

    dbmod.upgrade(url)
    database = dbmod.Database(url)
    now = SystemClock().now()
    rows = []
    for index in range(n):
        cfg = MonitorConfig(
            name=f"nginx-{index:05d}",
            service="nginx",
            type="http",
            url=f"http://127.0.0.1:{port}/health",
            interval=INTERVAL,
            timeout=5.0,
        )
        rows.append(
            {
                "name": cfg.name,
                "service": cfg.service,
                "type": cfg.type,
                "source": "api",
                "spec": cfg.spec(),
                "interval_s": cfg.interval,
                "severity": cfg.severity,
                "paused": False,
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "state": "unknown",
                "failures": 0,
                "successes": 0,
                "alert_open": False,
            }
        )
    with database.transaction() as session:
        for start in range(0, len(rows), 2000):
            session.execute(insert(Monitor), rows[start : start + 2000])
    database.dispose()


def child(url: str, seconds: float, out: Path) -> None:
    """Run the monitor scheduler alone (as in an engine) and write what it measured."""
    import logging

    from sqlalchemy import func, select

    from warroom.clock import SystemClock
    from warroom.config import ConfigFile, Settings
    from warroom.db import Database
    from warroom.monitors.models import MonitorResult
    from warroom.monitors.scheduler import MonitorScheduler
    from warroom.runtime import Runtime

    logging.disable(logging.WARNING)  # throttled overload warnings would go to stderr; counted from metrics
    runtime = Runtime(settings=Settings(database_url=url), config=ConfigFile(), db=Database(url), clock=SystemClock())
    scheduler = MonitorScheduler(runtime, sync_config=False)
    scheduler.delay_samples = []
    scheduler.start()
    scheduler.ready.wait(60)
    time.sleep(INTERVAL + 2)  # warm-up: every monitor has started once, the jitter has spread them
    first, cpu0, wall0 = len(scheduler.delay_samples), os.times(), time.monotonic()
    at0 = SystemClock().now()
    time.sleep(max(seconds - INTERVAL - 2, 5))
    last, cpu1, wall1 = len(scheduler.delay_samples), os.times(), time.monotonic()
    at1 = SystemClock().now()
    rss = rss_mb(os.getpid())
    registry = runtime.registry
    scheduler.stop()
    delays = scheduler.delay_samples[first:last]
    with runtime.db.session() as session:
        failures = session.scalar(select(func.count()).select_from(MonitorResult).where(MonitorResult.status != "up"))
        stored = session.scalar(
            select(func.count()).select_from(MonitorResult).where(MonitorResult.at >= at0, MonitorResult.at < at1)
        )
        sample = list(session.scalars(select(MonitorResult.message).where(MonitorResult.status != "up").limit(3)))
    used = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    out.write_text(
        json.dumps(
            {
                "checks_per_s": len(delays) / (wall1 - wall0),
                "stored_per_s": (stored or 0) / (wall1 - wall0),
                "delay_p50_ms": percentile(delays, 0.50) * 1000,
                "delay_p99_ms": percentile(delays, 0.99) * 1000,
                "false_failures": failures,
                "failure_sample": sample,
                "shed": sum(
                    registry.get_sample_value("warroom_monitor_checks_shed_total", {"reason": r}) or 0
                    for r in ("late", "still_running")
                ),
                "inconclusive": sum(
                    registry.get_sample_value("warroom_monitor_checks_inconclusive_total", {"reason": r}) or 0
                    for r in ("loop_lag", "local_error")
                ),
                "cpu_pct": 100 * used / (wall1 - wall0),
                "rss_mb": rss,
            }
        )
    )


def run_warroom(n: int, port: int, seconds: float, database: str | None, work: Path) -> dict[str, Any]:
    if database:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url
        from sqlalchemy.pool import NullPool

        from warroom.config import normalize_database_url

        admin = normalize_database_url(database)
        name = f"warroom_bench_{os.getpid()}_{n}"
        engine = create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{work / f'bench-{n}.db'}"
    prepare_database(url, n, port)
    out = work / f"result-{n}.json"
    subprocess.run(
        [sys.executable, __file__, "--child", url, "--seconds", str(seconds), "--out", str(out)], check=True, cwd=ROOT
    )
    result: dict[str, Any] = json.loads(out.read_text())
    if database:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return result


# -- the blackbox_exporter side ----------------------------------------------------------------------------------


async def drive(exporter: int, target: str, rate: float, seconds: float) -> tuple[int, int, int]:
    """GET /probe at `rate` per second for `seconds`; returns (sent, answered, probe failures)."""
    import aiohttp

    url = f"http://127.0.0.1:{exporter}/probe"
    params = {"module": "http_2xx", "target": target}
    sent = answered = failed = 0
    limit = asyncio.Semaphore(4000)

    async def one(session: aiohttp.ClientSession) -> None:
        nonlocal answered, failed
        async with limit:
            try:
                async with session.get(url, params=params) as response:
                    body = await response.text()
                answered += 1
                if "probe_success 1" not in body:
                    failed += 1
            except aiohttp.ClientError:
                failed += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks: list[asyncio.Task[None]] = []
        while (now := loop.time()) - start < seconds:
            due = int((now - start) * rate)
            while sent < due:
                tasks.append(asyncio.create_task(one(session)))
                sent += 1
            await asyncio.sleep(0.005)
        await asyncio.gather(*tasks)
    return sent, answered, failed


def driver_main(exporter: int, target: str, rate: float, seconds: float, out: Path) -> None:
    import uvloop

    sent, answered, failed = uvloop.run(drive(exporter, target, rate, seconds))
    out.write_text(json.dumps({"sent": sent, "answered": answered, "failed": failed}))


def run_blackbox(n: int, port: int, seconds: float, work: Path) -> dict[str, Any]:
    exporter_port = free_port()
    config = work / "blackbox.yml"
    config.write_text(
        "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n"
        "    http:\n      valid_status_codes: [200]\n      preferred_ip_protocol: ip4\n"
    )
    exe = shutil.which("prometheus-blackbox-exporter") or "/usr/bin/prometheus-blackbox-exporter"
    exporter = subprocess.Popen(
        [exe, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{exporter_port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(exporter_port)
        rate = n / INTERVAL
        out = work / f"blackbox-{n}.json"
        driver = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--driver",
                str(exporter_port),
                f"http://127.0.0.1:{port}/health",
                "--rate",
                str(rate),
                "--seconds",
                str(seconds),
                "--out",
                str(out),
            ]
        )
        time.sleep(2)  # measure the steady state, as for warroom
        cpu0, wall0 = cpu_seconds(exporter.pid), time.monotonic()
        time.sleep(max(seconds - 4, 2))
        cpu1, wall1 = cpu_seconds(exporter.pid), time.monotonic()
        rss = rss_mb(exporter.pid)
        driver.wait()
        counts = json.loads(out.read_text())
        return {
            "cpu_pct": 100 * (cpu1 - cpu0) / (wall1 - wall0),
            "rss_mb": rss,
            "probes_per_s": counts["answered"] / seconds,
            "failed": counts["failed"],
            "sent": counts["sent"],
        }
    finally:
        exporter.send_signal(signal.SIGTERM)
        exporter.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="*", default=[1000, 10000, 20000], help="monitor counts to run")
    parser.add_argument("--seconds", type=float, default=35.0, help="length of each run (warm-up included)")
    parser.add_argument("--database", help="PostgreSQL admin URL (default: SQLite in a temp folder)")
    parser.add_argument("--no-blackbox", action="store_true", help="skip the blackbox_exporter comparison")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--driver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("target", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seconds, args.out)
        return
    if args.driver:
        driver_main(args.driver, args.target, args.rate, args.seconds, args.out)
        return

    ensure_packages()
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        work = Path(tmp)
        nginx, port = start_nginx(work)
        try:
            print(
                f"machine: {os.cpu_count()} cores; nginx on 127.0.0.1:{port}; interval {INTERVAL:g}s; "
                f"{args.seconds:g}s per run ({INTERVAL + 2:g}s warm-up); database: "
                f"{'PostgreSQL' if args.database else 'SQLite'}",
                flush=True,
            )
            rows = []
            for n in args.n:
                ours = run_warroom(n, port, args.seconds, args.database, work)
                theirs = None if args.no_blackbox else run_blackbox(n, port, args.seconds, work)
                rows.append((n, ours, theirs))
                print(
                    f"N={n:>6}  warroom: {ours['checks_per_s']:7.0f} checks/s  start delay p50 "
                    f"{ours['delay_p50_ms']:6.2f} ms p99 {ours['delay_p99_ms']:7.2f} ms  false failures "
                    f"{ours['false_failures']}  shed {ours['shed']:.0f}  inconclusive {ours['inconclusive']:.0f}  "
                    f"CPU {ours['cpu_pct']:5.1f}%  RSS {ours['rss_mb']:.0f} MB",
                    flush=True,
                )
                if ours["failure_sample"]:
                    print(f"         failures, e.g.: {ours['failure_sample']}")
                if theirs:
                    print(
                        f"         blackbox_exporter: {theirs['probes_per_s']:7.0f} probes/s (of {n / INTERVAL:.0f} "
                        f"asked)  failed {theirs['failed']}  CPU {theirs['cpu_pct']:5.1f}%  RSS "
                        f"{theirs['rss_mb']:.0f} MB",
                        flush=True,
                    )
            print("\nCPU is % of one core over the measured window (after warm-up).")
            if len(rows) > 1:
                best = statistics.median(r[1]["cpu_pct"] for r in rows)
                print(f"median warroom CPU over the runs: {best:.1f}%")
        finally:
            nginx.terminate()
            nginx.wait(10)


if __name__ == "__main__":
    main()
