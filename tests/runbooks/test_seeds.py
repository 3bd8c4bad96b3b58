"""Every seed runbook parses with the right sections, roles, steps, checklists and placeholders."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from warroom.runbooks.model import Role, Runbook, Step, StepKind

Seed = Callable[[str], Runbook]


def kinds(runbook: Runbook) -> dict[str, int]:
    return dict(Counter(step.kind.value for step in runbook.steps))


def commands(runbook: Runbook) -> list[str]:
    return [s.command for s in runbook.steps if s.kind is StepKind.COMMAND and s.command is not None]


def section(runbook: Runbook, path: str) -> list[str]:
    return [s.path_str for s in runbook.sections if s.path_str == path]


def step_at(runbook: Runbook, line: int) -> Step:
    found = [s for s in runbook.steps if s.line == line]
    assert found, f"no step on line {line}"
    return found[0]


def test_every_seed_is_there_and_parses_without_errors(seed: Seed, seeds_dir: Path) -> None:
    files = sorted(seeds_dir.glob("*"))
    assert len(files) == 5
    for path in files:
        runbook = seed(path.name[:3])
        assert runbook.errors == [], path
        assert runbook.title == "Incident Response Runbook" or runbook.title == "Incident Response Runbooks"
        assert runbook.id == path.stem  # no front matter: the id is the file name


def test_seed_000_counts_sections_and_steps(seed: Seed) -> None:
    rb = seed("000")
    assert kinds(rb) == {"command": 18, "check": 5, "manual": 28}
    assert len(rb.sections) == 52
    assert sum(1 for s in rb.sections if not s.pseudo) == 30
    roles = {s.path_str: s.role for s in rb.sections}
    assert roles["Response Workflow › Detection"] is Role.DETECTION  # "### 1. Detection"
    assert roles["Response Workflow › Assessment"] is Role.ASSESSMENT  # "### 2. Assessment"
    assert roles["Response Workflow › Containment"] is Role.MITIGATION
    assert roles["Response Workflow › Resolution"] is Role.RESOLUTION
    assert roles["Response Workflow › Verification"] is Role.VERIFICATION
    assert roles["Response Workflow › Documentation › Post-Incident"] is Role.POST_INCIDENT
    assert roles["Escalation › When to Escalate"] is Role.ESCALATION
    assert roles["Communication"] is Role.COMMUNICATION
    assert roles["Common Incidents › Service Down › Symptoms"] is Role.DETECTION
    # The first block holds five commands, each with the comment above it as its description.
    first = rb.steps[:5]
    assert [s.command for s in first] == [
        "docker ps -a",
        "docker compose ps",
        "docker compose logs --tail=100",
        "docker stats --no-stream",
        "docker network inspect traefik-network",
    ]
    assert [s.description for s in first] == [
        "Service status",
        "Service status",
        "Recent logs",
        "Resource usage",
        "Network status",
    ]
    assert first[0].section_path == "Response Workflow › Assessment › Commands"
    assert first[0].role is Role.ASSESSMENT
    restart = step_at(rb, 87)
    assert restart.command == "docker compose restart <service>"
    assert restart.placeholders == ("service",)
    assert restart.section_path == "Response Workflow › Resolution › Service Won't Start"
    assert step_at(rb, 102).command == "docker compose up -d --scale <service>=2"
    assert step_at(rb, 114).placeholders == ("db",)
    recreate = step_at(rb, 90)
    assert recreate.dangerous and recreate.danger_reasons == ("--force",)
    checks = [s for s in rb.steps if s.kind is StepKind.CHECK]
    assert [c.text for c in checks] == [
        "Service is running",
        "Health checks passing",
        "No errors in logs",
        "Functionality verified",
        "Monitoring shows normal",
    ]
    assert all(c.role is Role.VERIFICATION for c in checks)
    manual = step_at(rb, 156)
    assert manual.kind is StepKind.MANUAL and manual.text == "Check service status: `docker compose ps`"
    assert manual.section_path == "Common Incidents › Service Down › Steps"


def test_seed_001_mojibake_headings_and_multi_command_blocks(seed: Seed) -> None:
    rb = seed("001")
    assert kinds(rb) == {"reference": 3, "manual": 15, "command": 40, "check": 15}
    titles = [s.title for s in rb.sections if s.level == 2]
    # "## ðŸš¨ Emergency Response Procedures", "## ðŸ“‹ Quick Reference Checklists",
    # "## ðŸ”— Contact Information"
    assert titles == ["Emergency Response Procedures", "Quick Reference Checklists", "Contact Information"]
    heading = next(s for s in rb.sections if s.title == "Emergency Response Procedures")
    assert heading.heading == "ðŸš¨ Emergency Response Procedures"
    roles = {s.title: s.role for s in rb.sections}
    assert roles["Incident Detection"] is Role.DETECTION  # "#### 1. Incident Detection"
    assert roles["Investigation Phase (15-60 minutes)"] is Role.DIAGNOSIS
    assert roles["Mitigation Phase (30-120 minutes)"] is Role.MITIGATION
    assert roles["Verification Steps"] is Role.VERIFICATION
    assert roles["Post-Mortem Process"] is Role.POST_INCIDENT
    assert roles["Contact Information"] is Role.ESCALATION
    # A bash block of "P0: ..." lines is prose: shown, not run, and a warning says so.
    assert rb.steps[0].kind is StepKind.REFERENCE and rb.steps[0].line == 13
    assert [p.code for p in rb.problems] == ["not-commands"]
    # Backslash continuations stay one command.
    maintenance = step_at(rb, 87)
    assert maintenance.command == (
        "curl -X POST http://localhost:8080/admin/maintenance \\\n"
        '  -H "Authorization: Bearer $ADMIN_TOKEN" \\\n'
        '  -d \'{"enabled": true, "message": "Temporary maintenance"}\''
    )
    assert maintenance.placeholders == ()  # $ADMIN_TOKEN is a shell variable
    flush = step_at(rb, 99)
    assert flush.command == "redis-cli flushdb"
    assert flush.description == "Flush problematic data (CAUTION)"
    assert flush.dangerous and "redis FLUSHDB/FLUSHALL" in flush.danger_reasons
    infra = [s for s in rb.steps if s.section_path.endswith("Infrastructure Issues")]
    assert [(s.command, s.dangerous) for s in infra] == [
        ("df -h", False),
        ("docker system prune -f", True),
        ("systemctl restart docker", True),
        ("systemctl restart nginx", True),
    ]
    # A block of comments only is one manual step.
    traffic = step_at(rb, 120)
    assert traffic.kind is StepKind.MANUAL
    assert traffic.text.splitlines()[0] == "Redirect traffic (if using load balancer)"
    assert [s.language for s in rb.steps if s.kind is StepKind.REFERENCE] == ["bash", "markdown", "markdown"]
    assert step_at(rb, 251).command == "top -p $(pgrep -f watermark-lab)"


def test_seed_002_placeholders_labels_and_diagram(seed: Seed) -> None:
    rb = seed("002")
    assert kinds(rb) == {"manual": 5, "command": 12, "reference": 2, "check": 17}
    assert [s.title for s in rb.sections if s.level == 2][:3] == [
        "Available Runbooks",
        "Quick Start Guide",
        "Runbook Structure",
    ]
    # A fence inside "3. **Log Incident**" takes the item as its label; the item is no manual step.
    log = [s for s in rb.steps if s.label == "Log Incident"]
    assert [s.command for s in log] == [
        "cd /root/v-edfinance",
        './scripts/incident-tracker.sh log --severity P0 --title "Brief description"',
    ]
    assert step_at(rb, 107).placeholders == ("postgres_container",)
    assert step_at(rb, 110).command == "docker exec <redis_container> redis-cli ping"
    assert step_at(rb, 125).command == 'docker logs <container> --since 1h | grep -i "error\\|fatal"'
    # The box-drawing flow chart (mojibake) in an untagged fence is not commands.
    chart = step_at(rb, 163)
    assert chart.kind is StepKind.REFERENCE and chart.language == ""
    # The template in a markdown fence does not add headings.
    assert not any(s.title == "Detection" for s in rb.sections)
    roles = {s.path_str: s.role for s in rb.sections}
    assert roles["Essential Commands Reference › Health Checks"] is Role.VERIFICATION
    assert roles["Essential Commands Reference › Quick Recovery"] is Role.RECOVERY
    assert roles["Escalation Contacts › Level 2: On-Call Engineer (10-30 min)"] is Role.ESCALATION
    assert sum(1 for s in rb.steps if s.kind is StepKind.CHECK and "Runbook Maintenance" in s.section_path) == 12


def test_seed_003_scenarios_multiline_quotes_and_last_resort(seed: Seed) -> None:
    rb = seed("003")
    assert kinds(rb) == {"command": 35, "manual": 10, "reference": 1}
    paths = [s.path_str for s in rb.sections]
    assert "Common Scenarios › Database Connection Issues › Resolution" in paths
    assert "Common Scenarios › Database Connection Issues › Diagnosis" in paths
    roles = {s.path_str: s.role for s in rb.sections}
    assert roles["Common Scenarios › Database Connection Issues › Resolution"] is Role.RESOLUTION
    assert roles["Common Scenarios › Kafka Issues › Diagnosis"] is Role.DIAGNOSIS
    assert roles["Initial Response (OODA Loop) › Observe - What's happening?"] is Role.DETECTION
    assert roles["Post-Incident › Immediate Actions (within 1 hour)"] is Role.POST_INCIDENT
    kill = step_at(rb, 110)
    assert kill.command == (
        'docker-compose exec postgres psql -U postgres -c "\n'
        "  SELECT pg_terminate_backend(pid) \n"
        "  FROM pg_stat_activity \n"
        "  WHERE state = 'idle' \n"
        "  AND query_start < NOW() - INTERVAL '5 minutes';\n"
        '"'
    )
    assert kill.dangerous and kill.danger_reasons == ("pg_terminate_backend",)
    restart = step_at(rb, 118)
    assert restart.description == "Restart database (last resort)"
    assert restart.dangerous and restart.danger_reasons == ("marked 'last resort'",)
    assert step_at(rb, 55).placeholders == ("service_name",)  # <service-name>
    assert step_at(rb, 88).placeholders == ("container_id",)
    assert step_at(rb, 165).danger_reasons == ("redis FLUSHDB/FLUSHALL",)
    assert "--delete" in step_at(rb, 190).danger_reasons
    assert rb.symptoms[:1] == ["Health check fails, 502/503 errors"]
    # Four health checks in one block are four steps.
    assert commands(rb)[:4] == [f"curl http://localhost:808{i}/health" for i in range(4)]


def test_seed_004_reference_only_sql_and_typescript(seed: Seed) -> None:
    rb = seed("004")
    assert kinds(rb) == {"command": 54, "manual": 34, "reference": 6}
    refs = [(s.line, s.language) for s in rb.steps if s.kind is StepKind.REFERENCE]
    assert refs == [
        (92, "typescript"),
        (155, "sql"),
        (288, ""),
        (307, "typescript"),
        (347, "markdown"),
        (522, ""),
    ]
    sql = step_at(rb, 155)
    assert sql.command is None and sql.text.startswith("-- Check database connectivity\nSELECT 1;")
    roles = {s.title: s.role for s in rb.sections}
    assert roles["Incident Detection"] is Role.DETECTION  # "#### 1.1 Incident Detection"
    assert roles["Initial Assessment"] is Role.ASSESSMENT  # "#### 1.2 Initial Assessment"
    assert roles["Investigation & Diagnosis"] is Role.DIAGNOSIS
    assert roles["Immediate Mitigation"] is Role.MITIGATION
    assert roles["Root Cause Analysis"] is Role.DIAGNOSIS
    assert roles["Verification"] is Role.VERIFICATION
    assert roles["Status Updates"] is Role.COMMUNICATION
    assert roles["Common Commands"] is Role.ESCALATION or roles["Common Commands"] is None  # "### A. ..."
    # "1. **Service Restart:**" before a fence names the commands' section.
    pm2 = step_at(rb, 174)
    assert pm2.command == "pm2 restart portfolio-app"
    assert pm2.section_path.endswith("Immediate Mitigation › Service Restart")
    danger = {s.command: s.danger_reasons for s in rb.steps if s.dangerous}
    assert danger == {
        "truncate -s 0 ./logs/application.log": ("truncate -s 0",),
        "rm -rf ./tmp/*": ("rm -rf",),
        "rm -rf ./cache/*": ("rm -rf",),
        "git push origin fix/incident-YYYY-MM-DD": ("git revert/reset --hard/push",),
    }
    export = step_at(rb, 219)
    assert export.command == (
        "grep -C 10 \"$(date -d '1 hour ago' +%Y-%m-%d\\ %H)\" ./logs/application.log > incident-logs.txt"
    )
    # Dangling comments are manual steps: "# Implement fix / # ... make necessary changes ...".
    assert step_at(rb, 239).kind is StepKind.MANUAL
    assert step_at(rb, 275).command == "watch -n 30 'curl -s http://localhost:4321/api/health | jq .status'"
    assert [s.title for s in rb.sections if s.title.startswith("Common Commands")] == ["Common Commands"]


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_step_ids_are_unique_and_stable(seed: Seed, prefix: str) -> None:
    first, again = seed(prefix), seed(prefix)
    ids = [s.id for s in first.steps]
    assert len(ids) == len(set(ids))
    assert ids == [s.id for s in again.steps]
    assert [s.index for s in first.steps] == list(range(1, len(first.steps) + 1))
