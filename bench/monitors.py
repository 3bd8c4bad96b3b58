"""Health-check scheduler at scale: N HTTP monitors at a 10 s interval against a local nginx, and
prometheus-blackbox-exporter probing the same target at the same rate, in alternating rounds (or at the same time).

    .venv/bin/python bench/monitors.py                 # N = 1,000 10,000 20,000, 35 s each
    .venv/bin/python bench/monitors.py --quick         # N = 1,000 10,000, 25 s each
    .venv/bin/python bench/monitors.py --same-time     # blackbox_exporter at the same moment, not alternating
    .venv/bin/python bench/monitors.py --n 10000 --seconds 40 --database postgresql://postgres@127.0.0.1/bench

Installs nginx and prometheus-blackbox-exporter with apt-get when missing, starts nginx on 127.0.0.1 with its
own config in a temporary folder (not the system service). For each N the warroom engine (the monitor
scheduler, writing every result to the database) runs in a child process, and blackbox_exporter gets /probe
requests at the same rate from a driver process. By default the two alternate in --rounds rounds (2), the
order swapped each round, so a slow spell of the shared machine does not fall on one of them only; with
--same-time they run at the same moment over the same window (each then also carries the other's load,
and they share nginx). Both get the same warm-up (one interval and 2 s: every monitor has started once)
and a measured window of the same length. For each window it prints, for warroom: checks
due and run per second, start delay p50/p99 (from each check's due time to when it started; a check the
scheduler shed never started, and counts as late by a whole interval), checks shed, failures recorded (any
result not `up`: nginx is healthy) and failures dropped as inconclusive (not recorded, but a user would
count them), CPU % of one core and RSS; for blackbox_exporter: probes asked and answered per second, probes
failed, CPU % and RSS; and the ratio of the two CPU figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

INTERVAL = 10.0
DEFAULT_N = [1000, 10000, 20000]
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


def start_delay_figures(delays: list[float], shed: int, interval: float) -> dict[str, float]:
    """Start delay as a user counts it: the checks that started, plus every shed check as late by a whole
    interval (it never ran; the monitor's next result comes one interval later at the earliest). Leaving shed
    checks out would make an overloaded scheduler look punctual."""
    values = [*delays, *([interval] * shed)]
    return {
        "due": len(values),
        "p50_ms": percentile(values, 0.50) * 1000,
        "p99_ms": percentile(values, 0.99) * 1000,
    }


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


def _counters(registry: Any, name: str, reasons: tuple[str, ...]) -> float:
    return sum(registry.get_sample_value(name, {"reason": r}) or 0 for r in reasons)


SHED = ("warroom_monitor_checks_shed_total", ("late", "still_running"))
INCONCLUSIVE = ("warroom_monitor_checks_inconclusive_total", ("loop_lag", "local_error"))


def child(url: str, seconds: float, out: Path) -> None:
    """Run the monitor scheduler alone (as in an engine) and write what it measured. Marker files tell the
    parent when it is ready (`.ready`) and when the measured window starts and ends (`.start`, `.end`), so
    that blackbox_exporter is measured over the same window."""
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
    registry = runtime.registry
    out.with_suffix(".ready").write_text(str(time.time()))
    time.sleep(INTERVAL + 2)  # warm-up: every monitor has started once, the jitter has spread them
    first, cpu0, wall0 = len(scheduler.delay_samples), os.times(), time.monotonic()
    shed0, inconclusive0 = _counters(registry, *SHED), _counters(registry, *INCONCLUSIVE)
    at0 = SystemClock().now()
    out.with_suffix(".start").write_text(str(time.time()))
    time.sleep(max(seconds - INTERVAL - 2, 5))
    last, cpu1, wall1 = len(scheduler.delay_samples), os.times(), time.monotonic()
    shed1, inconclusive1 = _counters(registry, *SHED), _counters(registry, *INCONCLUSIVE)
    at1 = SystemClock().now()
    out.with_suffix(".end").write_text(str(time.time()))
    rss = rss_mb(os.getpid())
    scheduler.stop()
    delays = scheduler.delay_samples[first:last]
    shed = int(shed1 - shed0)
    figures = start_delay_figures(delays, shed, INTERVAL)
    with runtime.db.session() as session:
        failures = session.scalar(
            select(func.count())
            .select_from(MonitorResult)
            .where(MonitorResult.status != "up", MonitorResult.at >= at0, MonitorResult.at < at1)
        )
        stored = session.scalar(
            select(func.count()).select_from(MonitorResult).where(MonitorResult.at >= at0, MonitorResult.at < at1)
        )
        sample = list(session.scalars(select(MonitorResult.message).where(MonitorResult.status != "up").limit(3)))
    used = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    out.write_text(
        json.dumps(
            {
                "due_per_s": figures["due"] / (wall1 - wall0),
                "checks_per_s": len(delays) / (wall1 - wall0),
                "stored_per_s": (stored or 0) / (wall1 - wall0),
                "delay_p50_ms": figures["p50_ms"],
                "delay_p99_ms": figures["p99_ms"],
                "started_delay_p99_ms": percentile(delays, 0.99) * 1000,
                "false_failures": failures,
                "failure_sample": sample,
                "shed": shed,
                "inconclusive": int(inconclusive1 - inconclusive0),
                "cpu_pct": 100 * used / (wall1 - wall0),
                "rss_mb": rss,
            }
        )
    )


def make_database(n: int, port: int, database: str | None, work: Path) -> tuple[str, Any]:
    """A database with N monitors (SQLite in `work`, or a fresh PostgreSQL database) and how to drop it."""
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
        prepare_database(url, n, port)

        def drop() -> None:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        return url, drop
    url = f"sqlite:///{work / f'bench-{n}.db'}"
    prepare_database(url, n, port)
    return url, lambda: None


def run_pair(
    url: str, n: int, port: int, seconds: float, work: Path, blackbox: bool, tag: str
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """warroom's scheduler and, when `blackbox`, blackbox_exporter at the same rate, started together and
    measured over the same window."""
    out = work / f"result-{n}-{tag}.json"
    exporter = start_blackbox(work) if blackbox else None
    try:
        ours = subprocess.Popen(
            [sys.executable, __file__, "--child", url, "--seconds", str(seconds), "--out", str(out)], cwd=ROOT
        )
        wait_file(out.with_suffix(".ready"), ours, 120)
        theirs = None
        if exporter is not None:
            # Started when warroom's scheduler is: the same warm-up, then measured over warroom's window.
            process, exporter_port = exporter
            probes = work / f"blackbox-{n}-{tag}.json"
            driver = start_driver(exporter_port, port, n, seconds + 2, probes)
            wait_file(out.with_suffix(".start"), ours, seconds + 60)
            cpu0 = cpu_seconds(process.pid)
            wait_file(out.with_suffix(".end"), ours, seconds + 60)
            cpu1 = cpu_seconds(process.pid)
            rss = rss_mb(process.pid)
            driver.wait(seconds + 120)
            t0, t1 = float(out.with_suffix(".start").read_text()), float(out.with_suffix(".end").read_text())
            theirs = blackbox_figures(json.loads(probes.read_text()), t0, t1, cpu1 - cpu0, rss)
        if ours.wait(seconds + 180) != 0:
            raise SystemExit(f"the warroom child failed for N={n}")
        result: dict[str, Any] = json.loads(out.read_text())
    finally:
        if exporter is not None:
            exporter[0].send_signal(signal.SIGTERM)
            exporter[0].wait(10)
    return result, theirs


def start_driver(exporter_port: int, port: int, n: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """The probe driver: asks blackbox_exporter to probe warroom's health target at N/interval per second."""
    target = f"http://127.0.0.1:{port}/health"
    command = [sys.executable, __file__, "--driver", str(exporter_port), target, "--rate", str(n / INTERVAL)]
    return subprocess.Popen([*command, "--seconds", str(seconds), "--out", str(out)])


def run_blackbox_alone(n: int, port: int, seconds: float, work: Path, tag: str) -> dict[str, Any]:
    """blackbox_exporter alone at N/interval probes per second, with warroom's warm-up and window lengths."""
    process, exporter_port = start_blackbox(work)
    try:
        probes = work / f"blackbox-{n}-{tag}.json"
        driver = start_driver(exporter_port, port, n, seconds, probes)
        time.sleep(INTERVAL + 2)  # the same warm-up as warroom's
        t0, cpu0 = time.time(), cpu_seconds(process.pid)
        time.sleep(max(seconds - INTERVAL - 2, 5))
        t1, cpu1 = time.time(), cpu_seconds(process.pid)
        rss = rss_mb(process.pid)
        driver.wait(seconds + 120)
        return blackbox_figures(json.loads(probes.read_text()), t0, t1, cpu1 - cpu0, rss)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def wait_file(path: Path, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait for the child's marker file; stop if the child died first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None and not path.exists():
            raise SystemExit(f"the warroom child exited ({process.returncode}) before writing {path.name}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {path.name}")
        time.sleep(0.02)


# -- the blackbox_exporter side ----------------------------------------------------------------------------------


async def drive(exporter: int, target: str, rate: float, seconds: float) -> dict[str, Any]:
    """GET /probe at `rate` per second for `seconds`; returns when each probe was due and answered (wall clock)
    and whether it succeeded, so that the parent counts the probes of warroom's measured window."""
    import aiohttp

    url = f"http://127.0.0.1:{exporter}/probe"
    params = {"module": "http_2xx", "target": target}
    sent = 0
    probes: list[tuple[float, float, bool]] = []  # (due, answered, ok)
    limit = asyncio.Semaphore(4000)

    async def one(session: aiohttp.ClientSession, due: float) -> None:
        async with limit:
            try:
                async with session.get(url, params=params) as response:
                    body = await response.text()
                probes.append((due, time.time(), "probe_success 1" in body))
            except aiohttp.ClientError:
                probes.append((due, time.time(), False))

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks: list[asyncio.Task[None]] = []
        wall_start = time.time()
        while (now := loop.time()) - start < seconds:
            due = int((now - start) * rate)
            while sent < due:
                tasks.append(asyncio.create_task(one(session, wall_start + sent / rate)))
                sent += 1
            await asyncio.sleep(0.005)
        await asyncio.gather(*tasks)
    return {"sent": sent, "probes": probes}


def driver_main(exporter: int, target: str, rate: float, seconds: float, out: Path) -> None:
    import uvloop

    out.write_text(json.dumps(uvloop.run(drive(exporter, target, rate, seconds))))


def blackbox_figures(counts: dict[str, Any], t0: float, t1: float, cpu: float, rss: float) -> dict[str, Any]:
    """blackbox_exporter over warroom's window: the probes due in it, answered, failed, and its CPU."""
    window = [(due, at, ok) for due, at, ok in counts["probes"] if t0 <= due < t1]
    durations = [at - due for due, at, _ in window]
    return {
        "asked_per_s": len(window) / (t1 - t0),
        "probes_per_s": sum(1 for _, at, _ in window if at < t1) / (t1 - t0),
        "failed": sum(1 for *_, ok in window if not ok),
        "probe_p99_ms": percentile(durations, 0.99) * 1000,
        "cpu_pct": 100 * cpu / (t1 - t0),
        "rss_mb": rss,
    }


def start_blackbox(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    """blackbox_exporter on loopback with an http_2xx module."""
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
    wait_port(exporter_port)
    return exporter, exporter_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="*", default=DEFAULT_N, help="monitor counts to run")
    parser.add_argument("--quick", action="store_true", help="N = 1,000 and 10,000, 25 s each")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per N (order swapped each round)")
    parser.add_argument(
        "--same-time", action="store_true", help="run blackbox_exporter at the same time instead of alternating"
    )
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

    if args.quick:
        args.n, args.seconds = args.n if args.n != DEFAULT_N else [1000, 10000], min(args.seconds, 25.0)
    ensure_packages()
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        work = Path(tmp)
        nginx, port = start_nginx(work)
        try:
            print(
                f"machine: {os.cpu_count()} cores ({cpu_model()}), load average {os.getloadavg()[0]:.2f}; nginx on "
                f"127.0.0.1:{port}; interval {INTERVAL:g}s; {args.seconds:g}s per run ({INTERVAL + 2:g}s warm-up for "
                f"both); database: {'PostgreSQL' if args.database else 'SQLite'}; blackbox_exporter "
                + (
                    "skipped"
                    if args.no_blackbox
                    else "at the same rate, at the same time"
                    if args.same_time
                    else f"at the same rate, alternating in {args.rounds} rounds"
                ),
                flush=True,
            )
            ratios = []
            for n in args.n:
                url, drop = make_database(n, port, args.database, work)
                try:
                    for round_index in range(1 if args.same_time or args.no_blackbox else args.rounds):
                        tag = f"r{round_index}"
                        if args.same_time or args.no_blackbox:
                            ours, theirs = run_pair(url, n, port, args.seconds, work, not args.no_blackbox, tag)
                        elif round_index % 2 == 0:  # alternating, the order swapped each round
                            ours, _ = run_pair(url, n, port, args.seconds, work, False, tag)
                            theirs = run_blackbox_alone(n, port, args.seconds, work, tag)
                        else:
                            theirs = run_blackbox_alone(n, port, args.seconds, work, tag)
                            ours, _ = run_pair(url, n, port, args.seconds, work, False, tag)
                        if not (args.same_time or args.no_blackbox):
                            print(f"N={n}, round {round_index + 1}/{args.rounds}:", flush=True)
                        ratios.append(show(n, ours, theirs))
                finally:
                    drop()
            print("\nCPU is % of one core over the measured window (after the same warm-up for both).")
            done = [(n, r) for n, r in ratios if r is not None]
            if done:
                print(f"CPU ratios warroom / blackbox_exporter: {', '.join(f'N={n}: {r:.2f}' for n, r in done)}")
        finally:
            nginx.terminate()
            nginx.wait(10)


def show(n: int, ours: dict[str, Any], theirs: dict[str, Any] | None) -> tuple[int, float | None]:
    """Print one measurement of both, and return the CPU ratio."""
    print(
        f"N={n:>6}  warroom: {ours['due_per_s']:6.0f} checks due/s, {ours['checks_per_s']:6.0f} run/s  "
        f"start delay p50 {ours['delay_p50_ms']:7.2f} ms p99 {ours['delay_p99_ms']:8.2f} ms (shed counted "
        f"as {INTERVAL:g} s late; of the checks run p99 {ours['started_delay_p99_ms']:.2f} ms)  shed "
        f"{ours['shed']}  failures recorded {ours['false_failures']}, dropped as inconclusive "
        f"{ours['inconclusive']}  CPU {ours['cpu_pct']:5.1f}%  RSS {ours['rss_mb']:.0f} MB",
        flush=True,
    )
    if ours["failure_sample"]:
        print(f"         failures, e.g.: {ours['failure_sample']}")
    if theirs is None:
        return n, None
    ratio = ours["cpu_pct"] / theirs["cpu_pct"] if theirs["cpu_pct"] else float("nan")
    print(
        f"         blackbox_exporter: {theirs['asked_per_s']:6.0f} probes asked/s, "
        f"{theirs['probes_per_s']:6.0f} answered/s  failed {theirs['failed']}  probe p99 "
        f"{theirs['probe_p99_ms']:.1f} ms  CPU {theirs['cpu_pct']:5.1f}%  "
        f"RSS {theirs['rss_mb']:.0f} MB",
        flush=True,
    )
    print(f"         CPU ratio warroom / blackbox_exporter: {ratio:.2f}", flush=True)
    return n, ratio


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


if __name__ == "__main__":
    main()
