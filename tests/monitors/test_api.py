"""The monitors API and CLI: admin-only changes, secrets masked, show with uptime, run, pause, heartbeat pings."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from warroom.auth.models import AuditEntry
from warroom.cli import app as cli_app
from warroom.engine import jobs
from warroom.engine.worker import Engine
from warroom.monitors import batches, service
from warroom.monitors.handlers import PRUNE_KIND, schedule_prune
from warroom.monitors.models import MonitorResult, MonitorRollup
from warroom.monitors.schemas import MonitoringConfig


def http_monitor(target, **extra):
    return {"name": "web", "service": "checkout", "type": "http", "url": f"{target.url}/health", **extra}


def test_only_admins_create_or_change_monitors(client_for, target):
    body = http_monitor(target)
    for role in ("viewer", "responder"):
        answer = client_for(role).post("/api/v1/monitors", json=body)
        assert answer.status_code == 403
        assert answer.json()["detail"] == f"This needs the admin role; token '{role}-token' has {role}."
    admin = client_for("admin")
    assert admin.post("/api/v1/monitors", json=body).status_code == 201
    assert client_for("responder").patch("/api/v1/monitors/web", json={"interval": 60}).status_code == 403
    assert client_for("responder").delete("/api/v1/monitors/web").status_code == 403
    assert client_for("viewer").get("/api/v1/monitors").status_code == 200


def test_create_validates_like_the_config_check(api, target):
    answer = api.post("/api/v1/monitors", json={"name": "web", "service": "s", "type": "http"})
    assert answer.status_code == 422
    assert answer.json()["detail"] == "Monitor 'web': a http monitor needs 'url'."
    answer = api.post("/api/v1/monitors", json={**http_monitor(target), "expect": {"regex": "("}})
    assert answer.status_code == 422
    answer = api.post("/api/v1/monitors", json={**http_monitor(target), "severity": "P7"})
    assert answer.json()["detail"] == "Monitor 'web': unknown severity 'P7': expected one of P0, P1, P2, P3, P4."
    assert api.post("/api/v1/monitors", json=http_monitor(target)).status_code == 201
    assert api.post("/api/v1/monitors", json=http_monitor(target)).status_code == 409


def test_command_monitors_never_come_over_the_network(api):
    answer = api.post("/api/v1/monitors", json={"name": "c", "service": "s", "type": "command", "command": "true"})
    assert answer.status_code == 422
    assert "only be declared in warroom.yaml" in answer.json()["detail"]


def test_secrets_are_masked_in_answers(api):
    body = {"name": "db", "service": "s", "type": "postgres", "url": "postgresql://app:hunter2@db:5432/app"}
    created = api.post("/api/v1/monitors", json=body).json()
    assert created["spec"]["url"] == "postgresql://app:********@db:5432/app"
    body = {"name": "w", "service": "s", "type": "http", "url": "http://x/", "headers": {"Authorization": "Bearer s3"}}
    assert api.post("/api/v1/monitors", json=body).json()["spec"]["headers"] == {"Authorization": "********"}
    assert "hunter2" not in api.get("/api/v1/monitors").text


def test_show_gives_state_results_percentiles_and_uptime(api, runtime, target, clock):
    api.post("/api/v1/monitors", json=http_monitor(target))
    with runtime.db.transaction() as session:
        monitor = service.get(session, "web")
        start = clock.now() - timedelta(days=3)
        results = [
            batches.ResultRow(monitor.id, start + timedelta(minutes=i), "up" if i % 10 else "down", float(i), "m", None)
            for i in range(100)
        ]
        rollups = []
        for row in results:
            for resolution, bucket in (("m", batches.minute_of(row.at)), ("d", batches.day_of(row.at))):
                rollup = batches.Rollup(monitor.id, resolution, bucket)
                rollup.add(row.status == "up", row.latency_ms)
                rollups.append(rollup)
        recent = [
            batches.ResultRow(monitor.id, clock.now() - timedelta(minutes=i), "up", float(i), "ok", None)
            for i in range(1, 5)
        ]
        batches.write_batch(session, results + recent, [], rollups)
    shown = api.get("/api/v1/monitors/web", params={"limit": 3}).json()
    assert [r["latency_ms"] for r in shown["results"]] == [1.0, 2.0, 3.0]
    assert shown["latency"] == {"count": 4, "p50": 2.0, "p90": 4.0, "p95": 4.0, "p99": 4.0, "max": 4.0}
    assert shown["uptime"] == {"24h": None, "7d": 0.9, "30d": 0.9, "90d": 0.9}


def test_pause_resume_run_and_audit(client_for, api, runtime, target):
    api.post("/api/v1/monitors", json=http_monitor(target))
    responder = client_for("responder", "bob")
    assert responder.post("/api/v1/monitors/web/pause").json()["paused"] is True
    assert responder.post("/api/v1/monitors/web/resume").json()["paused"] is False
    result = responder.post("/api/v1/monitors/web/run").json()
    assert result["status"] == "up" and result["message"].startswith("200 OK in")
    target.behaviour.status = 500
    assert responder.post("/api/v1/monitors/web/run").json()["status"] == "down"
    with runtime.db.session() as session:
        actions = [(e.actor, e.action) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-5:] == [
        ("alice", "monitor.create"),
        ("bob", "monitor.pause"),
        ("bob", "monitor.resume"),
        ("bob", "monitor.run"),
        ("bob", "monitor.run"),
    ]


def test_heartbeat_token_shown_once_and_pings_recorded(api, client_for, clock):
    created = api.post("/api/v1/monitors", json={"name": "backup", "service": "b", "type": "heartbeat", "period": "1h"})
    token = created.json()["token"]
    assert "token" not in api.get("/api/v1/monitors/backup").json()
    anonymous = client_for(None)
    assert anonymous.post(f"/api/v1/heartbeats/{token}").json()["monitor"] == "backup"
    assert api.get("/api/v1/monitors/backup").json()["last_ping_at"] == "2026-01-05T09:00:00Z"
    assert anonymous.get("/api/v1/heartbeats/not-a-token").status_code == 404
    assert api.post("/api/v1/monitors/backup/run").json()["message"] == "last ping 0s ago"
    clock.advance(hours=2)
    assert api.post("/api/v1/monitors/backup/run").json()["status"] == "down"
    new = api.post("/api/v1/monitors/backup/token").json()
    assert anonymous.post(f"/api/v1/heartbeats/{token}").status_code == 404
    assert anonymous.get(new["ping_path"]).status_code == 200


def test_config_monitors_are_changed_in_the_file_not_the_api(api, runtime, clock, target):
    from warroom.monitors.schemas import MonitorConfig

    with runtime.db.transaction() as session:
        service.sync_config(
            session, [MonitorConfig.model_validate(http_monitor(target))], now=clock.now(), severities=["P2"]
        )
    answer = api.patch("/api/v1/monitors/web", json={"interval": 60})
    assert (answer.status_code, answer.json()["detail"]) == (
        409,
        "Monitor 'web' is declared in warroom.yaml: change it there.",
    )
    assert api.post("/api/v1/monitors/web/pause").status_code == 200


def test_patch_revalidates_and_bumps_the_version(api, runtime, target):
    api.post("/api/v1/monitors", json=http_monitor(target))
    assert api.patch("/api/v1/monitors/web", json={"interval": "1m"}).json()["interval"] == 60
    assert api.patch("/api/v1/monitors/web", json={"timeout": "2m"}).status_code == 422
    with runtime.db.session() as session:
        assert service.get(session, "web").version == 2


def test_prune_keeps_raw_results_7_days_and_rollups_400(runtime, clock, config):
    from warroom.monitors.schemas import MonitorConfig

    with runtime.db.transaction() as session:
        monitor, _ = service.create(
            session,
            MonitorConfig(name="m", service="s", type="memory"),
            source="api",
            now=clock.now(),
            severities=["P2"],
        )
        now = clock.now()
        ages = [timedelta(days=1), timedelta(days=8), timedelta(days=399), timedelta(days=401)]
        batches.write_batch(
            session,
            [batches.ResultRow(monitor.id, now - age, "up", 1.0, "", None) for age in ages],
            [],
            [batches.Rollup(monitor.id, "d", batches.day_of(now - age), 1, 1) for age in ages],
        )
        schedule_prune(session, now)
    clock.advance(minutes=10)
    assert Engine(runtime).run_due() == 1
    with runtime.db.session() as session:
        kept = sorted((clock.now() - at).days for at in session.scalars(select(MonitorResult.at)))
        assert kept == [1]
        assert len(list(session.scalars(select(MonitorRollup.bucket)))) == 3
        assert [j.kind for j in jobs.pending(session)] == [PRUNE_KIND]
    assert MonitoringConfig().raw_retention == 7 * 86400


@pytest.mark.backend("sqlite")
def test_cli_add_list_show_run_pause(live_server, make_token, target, monkeypatch):
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("admin"))
    runner = CliRunner()

    def cli(*args):
        result = runner.invoke(cli_app, ["monitor", *args], env={"COLUMNS": "200"})
        return result.exit_code, result.output

    code, out = cli(
        "add",
        "web",
        "--type",
        "http",
        "--service",
        "checkout",
        "--url",
        f"{target.url}/health",
        "--interval",
        "10s",
        "--set",
        "expect.status=[200]",
        "--set",
        'expect.json={"$.status": "ok"}',
    )
    assert (code, out.strip()) == (0, "added web (http, every 10s)")
    code, out = cli("run", "web")
    assert code == 0 and out.startswith("web: up in ")
    target.behaviour.body = '{"status": "down"}'
    code, out = cli("run", "web")
    assert code == 1 and '$.status is "down", expected "ok"' in out
    code, out = cli("list")
    assert "web" in out and "checkout" in out and "unknown" in out
    code, out = cli("show", "web")
    assert code == 0 and "Uptime" in out and "24h -" in out
    assert cli("pause", "web") == (0, "web: paused\n")
    assert cli("resume", "web") == (0, "web: running\n")
    code, out = cli("show", "nope")
    assert (code, out.strip()) == (1, "error: No monitor named 'nope': see `warroom monitor list`.")
    code, out = cli("add", "b", "--type", "heartbeat", "--service", "backups", "--set", "period=24h", "--json")
    assert code == 0 and '"token"' in out
    assert os.environ["WARROOM_URL"] == live_server.url


@pytest.mark.backend("postgresql")
def test_run_now_holds_no_transaction_while_the_check_waits(client_for, api, runtime, target, database_url):
    """A check may take its whole timeout; an open transaction meanwhile would hold back VACUUM and count
    against PostgreSQL's connections (and, idle in transaction, be cut by the server's timeout)."""
    import threading
    import time

    import psycopg
    from sqlalchemy.engine import make_url

    api.post("/api/v1/monitors", json=http_monitor(target, timeout="10s"))
    target.behaviour.delay = 2.0
    answers: list[int] = []
    running = threading.Thread(
        target=lambda: answers.append(client_for("responder").post("/api/v1/monitors/web/run").status_code)
    )
    running.start()
    deadline = time.monotonic() + 30
    while target.behaviour.hits == 0:  # the check is under way: the target holds its answer for 2 s
        assert time.monotonic() < deadline, "the check never reached the target"
        time.sleep(0.01)
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        waiting = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
        ).fetchone()
    running.join(30)
    assert answers == [200]
    assert waiting == (0,)
