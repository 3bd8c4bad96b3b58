"""Reports over a large history (issue 17): `python bench/reports.py`, or `make bench-reports`.

For each backend it creates a fresh database, migrates it, loads bench/api.py's incidents and timelines (100,000
incidents and 1,000,000 timeline events over three years by default), adds what the other sections read (a page
per incident, an escalation policy for most, about 1.2 alerts per incident, a runbook run for one in ten,
people in several time zones and teams), then builds the report over the whole three years in-process, as the
route does, and prints the time of each section and of the whole report (the median of --rounds), against the
2 s target. Exit status 1 when a whole report takes 2 s or more.

PostgreSQL: a database `warroom_bench_<pid>` next to WARROOM_TEST_DATABASE_URL, dropped at the end.
--keep: while working on the reports, keep both loaded databases for the next run with --keep (the SQLite file
in the temporary directory's `warroom-bench-reports-keep/`, PostgreSQL's `warroom_bench_reports_keep`); they
are loaded only when empty, so change --incidents or --seed only after deleting them.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import DEFAULT_PG, PEOPLE, SERVICES, Unavailable, create_pg_database, load
from sqlalchemy import func, insert, select, text

from warroom import db as dbmod
from warroom.alerts.models import Alert, Integration
from warroom.incidents.models import Incident
from warroom.incidents.severities import SeverityTable
from warroom.notify.models import Notification
from warroom.oncall.models import Escalation, OncallUser, Team
from warroom.reports import service
from warroom.reports.groups import group_positions
from warroom.reports.load import load as load_section
from warroom.reports.noise import noise
from warroom.reports.period import parse_query
from warroom.reports.phases import incident_facts, phase_table, trend
from warroom.reports.reads import Reads
from warroom.reports.runbook_use import runbooks
from warroom.runbooks.models import RunbookRun

TARGET_S = 2.0
ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "America/Los_Angeles", "Australia/Sydney")
ALERT_NAMES = ("HighLatency", "ErrorRate", "DiskFull", "CPUHigh", "ReplicationLag", "CertExpiry", "QueueBacklog")
BATCH = 10_000
KEPT_PG = "warroom_bench_reports_keep"


def _insert(engine: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for i in range(0, len(rows), BATCH):
            conn.execute(insert(table), rows[i : i + BATCH])


def add_extras(url: str, seed: int) -> dict[str, int]:
    """People, teams, pages, escalations, alerts and runbook runs for the incidents already loaded."""
    rng = random.Random(seed)
    engine = dbmod.make_engine(url, pool_size=1)
    now = datetime.now(UTC)
    try:
        with engine.connect() as conn:
            incidents = conn.execute(select(Incident.id, Incident.created_at, Incident.severity)).all()
        _insert(
            engine,
            OncallUser.__table__,
            [
                {"id": p, "name": p, "timezone": ZONES[i % len(ZONES)], "rules": [], "source": "api"}
                | {"created_at": now, "updated_at": now}
                for i, p in enumerate(PEOPLE)
            ],
        )
        teams = [SERVICES[i : i + 5] for i in range(0, len(SERVICES), 5)]
        _insert(
            engine,
            Team.__table__,
            [
                {"id": f"team-{i}", "name": "", "members": [], "services": list(s), "source": "api"}
                | {"created_at": now, "updated_at": now}
                for i, s in enumerate(teams)
            ],
        )
        _insert(
            engine,
            Integration.__table__,
            [
                {"id": 1, "name": "prom", "type": "generic", "config": {}, "source": "api"}
                | {"created_at": now, "created_by": "bench"}
            ],
        )
        pages, escalations, alerts, runs = [], [], [], []
        for number, created, severity in incidents:
            person = rng.choice(PEOPLE)
            if rng.random() < 0.7:
                policy = f"policy-{rng.randrange(6)}"
                escalations.append(
                    {"incident_id": number, "policy_id": policy, "policy": {}, "severity": severity}
                    | {"generation": 1, "cycle": 0, "level": 0, "state": "stopped", "last_paged": []}
                    | {"started_at": created, "updated_at": created}
                )
                for method in ("sms", "email"):
                    pages.append(
                        {"id": f"{number}-{person}-{method}", "incident_id": number, "kind": "page"}
                        | {"user_id": person, "method": method, "url": "json://127.0.0.1:9/", "generation": 1}
                        | {"cycle": 0, "level": 1, "title": "", "body": "", "state": "sent", "attempts": 1}
                        | {"due_at": created, "created_at": created}
                    )
            for k in range(rng.choice((0, 1, 1, 1, 2, 2))):
                name = rng.choice(ALERT_NAMES)
                suppressed = rng.random() < 0.1
                alerts.append(
                    {"integration_id": 1, "fingerprint": f"{number}-{k}", "status": "resolved", "summary": name}
                    | {"severity": severity, "service": None, "route": "default", "group_key": f"g{number}"}
                    | {
                        "incident_id": None if suppressed else number,
                        "suppressed_by": "silence:1" if suppressed else None,
                    }
                    | {"labels": {"alertname": name}, "annotations": {}, "raw": {}, "received": rng.randint(1, 5)}
                    | {"starts_at": created, "first_seen_at": created, "last_seen_at": created}
                )
            if rng.random() < 0.1:
                outcome = rng.choice(("success", "success", "failed", "unknown"))
                runs.append(
                    {"incident_id": number, "runbook_id": f"runbook-{rng.randrange(20)}", "path": "", "title": "Run"}
                    | {"digest": "", "started_by": person, "started_by_kind": "user", "started_at": created}
                    | {"finished_at": created + timedelta(minutes=rng.uniform(1, 30)), "outcome": outcome}
                    | {"auto": False, "params": {}, "steps": [], "verify_ids": []}
                )
        _insert(engine, Escalation.__table__, escalations)
        _insert(engine, Notification.__table__, pages)
        _insert(engine, Alert.__table__, alerts)
        _insert(engine, RunbookRun.__table__, runs)
        if not dbmod.is_sqlite(url):
            with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text("VACUUM ANALYZE"))
        return {"pages": len(pages), "escalations": len(escalations), "alerts": len(alerts), "runs": len(runs)}
    finally:
        engine.dispose()


def _median_time(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    """(wall, CPU) seconds, each the median of `rounds` runs. CPU counts this process only (SQLite runs in it;
    PostgreSQL's own work is not in it): on a shared machine it shows what the wall time would be alone."""
    walls, cpus = [], []
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def _loaded_at(url: str) -> datetime | None:
    """When a kept database was loaded (its newest incident), None when it holds none."""
    engine = dbmod.make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            newest = conn.execute(select(func.max(Incident.created_at))).scalar()
    finally:
        engine.dispose()
    return None if newest is None else (newest if newest.tzinfo else newest.replace(tzinfo=UTC))


def host_speed() -> float:
    """Milliseconds for a fixed pure-Python loop: this shared VM's speed moves by up to 1.7x from minute to
    minute with no sign in the load average, so the bench prints it before and after to say how fast the host
    was (about 110 ms when it is at its quickest)."""
    t = time.perf_counter()
    sum(range(10_000_000))
    return (time.perf_counter() - t) * 1000


def run_backend(backend: str, url: str, args: argparse.Namespace) -> list[tuple[str, str, float, float]]:
    """Migrate, load, and time each section and the whole report on one database."""
    now = datetime.now(UTC)
    dbmod.upgrade(url)
    loaded = _loaded_at(url) if args.keep else None
    if loaded is not None:
        now = loaded + timedelta(minutes=1)
        print(f"{backend}: kept database, loaded before; the report ends at {now:%Y-%m-%d %H:%M} UTC", flush=True)
    else:
        t0 = time.perf_counter()
        incidents, events = load(url, args.incidents, args.events_per_incident, now, args.seed)
        extras = add_extras(url, args.seed)
        print(
            f"{backend}: loaded {incidents:,} incidents, {events:,} timeline events, "
            + ", ".join(f"{v:,} {k}" for k, v in extras.items())
            + f" in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    database = dbmod.Database(url)
    severities = SeverityTable()
    query = parse_query(now=now, since=(now - timedelta(days=3 * 365 + 2)).isoformat(), until=now.isoformat())
    by_service = parse_query(now=now, since=query.since.isoformat(), until=query.until.isoformat(), group_by="service")
    # The default period: a month of a large database (the link tables are still read whole, issue 17).
    last_month = parse_query(now=now, since=(now - timedelta(days=30)).isoformat(), until=now.isoformat())

    def timed(fn: Callable[[Any], object]) -> Callable[[], object]:
        def once() -> object:
            # Sections run as service.build runs them: with the collector paused.
            with database.session() as session, service.collector_paused():
                return fn(Reads(session))

        return once

    def phases(reads: Any) -> object:
        facts = incident_facts(reads, query)
        return phase_table(facts, None, severities), trend(facts, None, query)

    def phases_by_service(reads: Any) -> object:
        facts = incident_facts(reads, by_service)
        groups = group_positions(reads, by_service, facts)
        return phase_table(facts, groups, severities), trend(facts, groups, by_service)

    results: list[tuple[str, str, float, float]] = []
    try:
        counted = len(timed(lambda r: incident_facts(r, query))())  # type: ignore[arg-type]
        print(f"  the report covers {counted:,} incidents", flush=True)
        for label, fn in (
            ("incidents + trend (by severity)", phases),
            ("incidents + trend (by service)", phases_by_service),
            ("noise", lambda r: noise(r, query, incident_facts(r, query).position())),
            ("load", lambda r: load_section(r, incident_facts(r, query).position())),
            ("runbooks", lambda r: runbooks(r, query, incident_facts(r, query))),
            ("whole report (by severity)", lambda r: service.build(r.session, query, severities)),
            ("whole report (by service)", lambda r: service.build(r.session, by_service, severities)),
            ("whole report, last 30 days", lambda r: service.build(r.session, last_month, severities)),
        ):
            seconds, cpu = _median_time(timed(fn), args.rounds)
            results.append((backend, label, seconds, cpu))
            print(f"  {label}: {seconds:.2f} s (cpu {cpu:.2f} s)", flush=True)
    finally:
        database.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run each backend, print the table and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--events-per-incident", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per figure; the median is printed")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the loaded databases for the next --keep run")
    args = parser.parse_args(argv)
    print(
        f"warroom reports bench: {args.incidents:,} incidents x {args.events_per_incident} events, "
        f"median of {args.rounds} rounds, Python {sys.version.split()[0]}, {os.cpu_count()} cores",
        flush=True,
    )
    speed_before = host_speed()
    if args.keep:
        workdir = Path(tempfile.gettempdir()) / "warroom-bench-reports-keep"
        workdir.mkdir(exist_ok=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="warroom-bench-reports-"))
    results: list[tuple[str, str, float, float]] = []
    try:
        if args.backend in ("sqlite", "both"):
            results += run_backend("sqlite", f"sqlite:///{workdir / 'bench.db'}", args)
        if args.backend in ("postgresql", "both"):
            keep = KEPT_PG if args.keep else None
            try:
                admin, name, url = create_pg_database(os.environ.get("WARROOM_TEST_DATABASE_URL") or DEFAULT_PG, keep)
            except Unavailable as exc:
                print(f"postgresql skipped: cannot create a database ({exc})", flush=True)
            else:
                try:
                    results += run_backend("postgresql", url, args)
                finally:
                    if not args.keep:
                        with admin.connect() as conn:
                            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    admin.dispose()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(
        f"load average {os.getloadavg()[0]:.1f}; host speed probe {speed_before:.0f} ms before, "
        f"{host_speed():.0f} ms after (about 110 ms on a quick host: scale the figures by it)"
    )
    print(f"{'backend':<12}{'section':<36}{'wall s':>8}{'cpu s':>8}")
    for backend, label, seconds, cpu in results:
        print(f"{backend:<12}{label:<36}{seconds:>8.2f}{cpu:>8.2f}")
    whole = [r for r in results if r[1].startswith("whole")]
    if not whole:
        print("FAIL: nothing was measured")
        return 1
    worst = max(whole, key=lambda r: r[2])
    ok = worst[2] < TARGET_S
    print(
        f"{'PASS' if ok else 'FAIL'}: a whole report under {TARGET_S:.0f} s "
        f"(worst {worst[0]} {worst[1]} {worst[2]:.2f} s)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
