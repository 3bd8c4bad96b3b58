"""The Monitors page: state, latency sparkline and 90-day uptime bar from the rollups; pause, resume, run now."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from warroom.auth.models import AuditEntry
from warroom.monitors import service
from warroom.monitors.models import Monitor, MonitorRollup
from warroom.monitors.schemas import MonitorConfig

pytestmark = pytest.mark.backend("sqlite", "postgresql")


def add(runtime, **definition) -> Monitor:
    definition.setdefault("service", "checkout")
    with runtime.db.transaction() as session:
        monitor, _ = service.create(
            session,
            MonitorConfig.model_validate(definition),
            source="api",
            now=runtime.clock.now(),
            severities=runtime.severities.names(),
        )
    return monitor


def rollup(runtime, monitor: Monitor, resolution: str, bucket, checks: int, up: int, latency_sum: float = 0.0):
    with runtime.db.transaction() as session:
        session.add(
            MonitorRollup(
                monitor_id=monitor.id,
                resolution=resolution,
                bucket=bucket,
                checks=checks,
                up=up,
                latency_sum_ms=latency_sum,
                latency_max_ms=latency_sum / max(checks, 1),
            )
        )


def _paused(runtime, name) -> bool:
    with runtime.db.session() as session:
        return service.get(session, name).paused


def test_uptime_bar_and_sparkline_come_from_the_rollups(console_for, runtime, clock):
    monitor = add(runtime, name="api-health", type="memory")
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    rollup(runtime, monitor, "d", today - timedelta(days=89), 100, 100)  # the oldest day shown
    rollup(runtime, monitor, "d", today - timedelta(days=90), 100, 0)  # too old: not counted
    rollup(runtime, monitor, "d", today - timedelta(days=1), 100, 98)
    hour = clock.now().replace(minute=0, second=0, microsecond=0)
    rollup(runtime, monitor, "m", hour - timedelta(hours=2), 2, 2, 40.0)  # 20 ms mean
    rollup(runtime, monitor, "m", hour + timedelta(minutes=1), 1, 1, 80.0)  # 80 ms, this hour
    html = console_for("viewer").get("/monitors").text
    assert "Uptime, 90 days: 99.00 %" in html  # 198 up of 200 checks in the window
    rects = re.findall(r'<rect class="u-(\w+)"[^>]*><title>([^<]+)</title>', html)
    assert len(rects) == 90
    assert rects[0] == ("good", f"{(today - timedelta(days=89)).date()}: 100.00% up of 100 checks")
    assert rects[-2] == ("bad", f"{(today - timedelta(days=1)).date()}: 98.00% up of 100 checks")
    assert rects[-1][0] == "none"
    assert "Latency, last 24 h: 20.0–80.0 ms, last hour 80.0 ms" in html
    points = re.search(r'<polyline class="spark-line" points="([^"]+)"', html).group(1).split()
    assert points == ["87.7,22.0", "96.0,2.0"]  # hour 21 and 23 of 24: low at the bottom, high at the top


def test_a_monitor_without_data_says_so_and_its_message_is_text(console_for, runtime):
    add(runtime, name="db-disk", type="memory")
    with runtime.db.transaction() as session:  # a check's message can quote what a remote server answered
        service.get(session, "db-disk").last_message = "<script>alert(1)</script>"
        service.get(session, "db-disk").last_checked_at = runtime.clock.now()
    html = console_for("viewer").get("/monitors").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "Latency, last 24 h: no data" in html and "Uptime, 90 days: no data" in html


def test_a_responder_pauses_resumes_and_runs_a_check(console_for, runtime):
    add(runtime, name="mem", type="memory")
    rita = console_for("responder", "rita")
    assert "Pause" in rita.get("/monitors").text
    assert rita.act("/monitors/mem/pause").status_code == 303 and _paused(runtime, "mem")
    page = rita.get("/monitors").text
    assert "mem paused: no checks until resumed." in page and "state-paused" in page and ">Resume<" in page
    assert rita.act("/monitors/mem/resume").status_code == 303 and not _paused(runtime, "mem")
    ran = rita.act("/monitors/mem/run")
    assert ran.status_code == 303
    assert re.search(r"mem: (up|warn|down)", rita.get("/monitors").text)
    with runtime.db.session() as session:
        actions = [(e.action, e.actor, e.actor_kind) for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    assert [a for a in actions if a[0].startswith("monitor.")] == [
        ("monitor.pause", "rita", "person"),
        ("monitor.resume", "rita", "person"),
        ("monitor.run", "rita", "person"),
    ]
    assert rita.act("/monitors/nope/pause").status_code == 404


def test_a_viewer_sees_no_buttons_and_is_refused(console_for, runtime):
    add(runtime, name="mem", type="memory")
    viewer = console_for("viewer")
    html = viewer.get("/monitors").text
    assert "Pause" not in html and "Run now" not in html
    for action in ("pause", "resume", "run"):
        assert viewer.act(f"/monitors/mem/{action}").status_code == 403
    assert not _paused(runtime, "mem")


def test_a_session_and_its_csrf_token_are_needed(console_for, runtime):
    add(runtime, name="mem", type="memory")
    anonymous = console_for(None)
    assert anonymous.get("/monitors", follow_redirects=False).headers["location"] == "/login?next=%2Fmonitors"
    bogus = console_for(None)
    bogus.cookies.set("warroom_session", "forged")
    assert bogus.post("/monitors/mem/pause", follow_redirects=False).headers["location"] == "/login"
    admin = console_for("admin")
    assert admin.post("/monitors/mem/pause", follow_redirects=False).status_code == 403
    assert admin.post("/monitors/mem/pause", data={"csrf_token": "f" * 64}, follow_redirects=False).status_code == 403
    assert not _paused(runtime, "mem")


@pytest.mark.backend("postgresql")
def test_run_now_holds_no_transaction_while_the_check_runs(console_for, runtime, database_url, monkeypatch):
    """A check may take its whole timeout: the console's "run now" keeps no transaction open meanwhile (the
    API's route is tested against a slow HTTP target in tests/monitors/test_api.py)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from warroom.web import monitors as page

    add(runtime, name="mem", type="memory")
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    seen: list[tuple[int, ...] | None] = []
    real = page.run_stored_sync

    def while_checking(runtime_, cfg, monitor):  # reads the monitor as the real one does, then looks
        assert monitor.last_ping_at is None and monitor.created_at is not None
        with psycopg.connect(url, autocommit=True) as conn:
            seen.append(
                conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                ).fetchone()
            )
        return real(runtime_, cfg, monitor)

    monkeypatch.setattr(page, "run_stored_sync", while_checking)
    assert console_for("responder", "rita").act("/monitors/mem/run").status_code == 303
    assert seen == [(0,)]
