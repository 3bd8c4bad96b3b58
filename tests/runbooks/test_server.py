"""Runbooks on the server: the library, matching, runs over the API with the engine, the timeline, audit."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from warroom.auth.models import AuditEntry
from warroom.config import ConfigFile
from warroom.engine import jobs
from warroom.engine.worker import Engine
from warroom.incidents import timeline
from warroom.runbooks import service, stepjobs
from warroom.runbooks.models import StepState

WEB_DOWN = """
---
id: web-down
title: Web service down
services: [checkout]
---
# Web service down

## Diagnosis
```bash {auto}
# Which service we look at
printf '%s\\n' <service>
```

## Mitigation
```bash
echo restarting <service>; rm -rf "$TMPDIR/warroom-never-exists"
```

## Verification
- [ ] Dashboard is green

```bash {verify timeout=5}
test <service> = checkout
```
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def runbook_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "runbooks"
    write(folder, "web-down.md", WEB_DOWN)
    return folder


@pytest.fixture
def config(runbook_dir: Path) -> ConfigFile:
    return ConfigFile.model_validate({"runbooks": {"folders": [str(runbook_dir)]}})


@pytest.fixture
def engine(runtime: Any) -> Engine:
    return Engine(runtime)


def steps_by_kind(run: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for step in run["steps"]:
        out.setdefault(step["kind"], []).append(step)
    return out


def step_in(run: dict[str, Any], section: str, kind: str = "command") -> dict[str, Any]:
    return next(s for s in run["steps"] if s["section"].endswith(section) and s["kind"] == kind)


def start(api: Any, number: int, runbook: str = "web-down", **body: Any) -> dict[str, Any]:
    response = api.post(f"/api/v1/incidents/{number}/runbook-runs", json={"runbook": runbook, **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def run_url(number: int, run: dict[str, Any], step: dict[str, Any] | None = None, action: str = "") -> str:
    base = f"/api/v1/incidents/{number}/runbook-runs/{run['id']}"
    return f"{base}/steps/{step['id']}/{action}" if step is not None else base


def events(runtime: Any, number: int, kind: str) -> list[Any]:
    with runtime.db.session() as session:
        return [e for e in timeline.events(session, number) if e.kind == kind]


# -- the library ----------------------------------------------------------------------------------------


def test_list_shows_runbooks_with_their_problems(api, runbook_dir):
    write(runbook_dir, "broken.md", "# Broken\n\n## Fix\n```bash\necho 'never closed\n")
    listed = api.get("/api/v1/runbooks").json()
    assert [r["id"] for r in listed] == ["broken", "web-down"]
    broken = listed[0]
    assert broken["errors"] >= 1
    assert any(p["code"] == "unclosed-fence" for p in broken["problems"])
    web = listed[1]
    assert web["services"] == ["checkout"] and web["commands"] == 3 and web["errors"] == 0
    assert any(p["code"] == "confirm" for p in web["problems"]), "rm -rf without {confirm} is a warning"


def test_show_gives_sections_and_steps_like_show_json(api):
    shown = api.get("/api/v1/runbooks/web-down").json()
    assert [s["path_str"] for s in shown["sections"]] == ["Web service down", "Diagnosis", "Mitigation", "Verification"]
    assert [s["role"] for s in shown["sections"]] == [None, "diagnosis", "mitigation", "verification"]
    first = shown["steps"][0]
    assert first["command"] == "printf '%s\\n' <service>" and first["placeholders"] == ["service"]
    assert first["options"]["auto"] is True
    assert api.get("/api/v1/runbooks/nope").status_code == 404


def test_duplicate_ids_are_reported_and_cannot_be_started(api, runbook_dir, make_incident):
    write(runbook_dir, "copy/web.md", WEB_DOWN)
    listed = api.get("/api/v1/runbooks").json()
    assert all(any(p["code"] == "duplicate-id" for p in r["problems"]) for r in listed)
    incident = make_incident()
    answer = api.post(f"/api/v1/incidents/{incident.number}/runbook-runs", json={"runbook": "web-down"})
    assert answer.status_code == 409 and "used by 2 files" in answer.json()["detail"]


def test_the_library_reparses_only_changed_files(runtime, runbook_dir):
    from warroom.runbooks.setup import cache_of

    cache = cache_of(runtime)
    cache.refresh()
    assert cache.last.parsed == 1 and cache.last.files == 1
    write(runbook_dir, "db.md", "# Database\n")
    cache.refresh()
    assert cache.last.parsed == 1 and cache.last.files == 2
    cache.refresh()
    assert cache.last.parsed == 0
    write(runbook_dir, "db.md", "# Database connections exhausted\n\n## Diagnosis\n")
    library = cache.refresh()
    assert cache.last.parsed == 1
    assert library.by_id("db").title == "Database connections exhausted"
    (runbook_dir / "db.md").unlink()
    assert [r.id for r in cache.refresh().runbooks] == ["web-down"] and cache.last.removed == 1


def test_match_lists_runbooks_best_first_with_reasons(api, runbook_dir, make_incident):
    write(
        runbook_dir,
        "disk.md",
        """
        ---
        id: disk-full
        match: ['alertname=DiskFull']
        ---
        # Disk full
        """,
    )
    write(runbook_dir, "redis.md", "# Redis memory high\n\n## Symptoms\nCheckout slow, evictions\n")
    incident = make_incident(
        title="Checkout slow",
        services=["checkout"],
        data={"labels": {"alertname": "DiskFull"}, "runbook": "redis"},
    )
    matches = api.get(f"/api/v1/incidents/{incident.number}/runbooks").json()
    assert [m["runbook"]["id"] for m in matches] == ["disk-full", "web-down", "redis"]
    reasons = {m["runbook"]["id"]: m["reasons"] for m in matches}
    assert reasons["disk-full"][0] == 'labels match alertname="DiskFull"'
    assert reasons["web-down"][0] == "for service checkout"
    assert reasons["redis"][0] == "the route suggests runbook 'redis'"
    assert matches[0]["score"] > matches[1]["score"] > matches[2]["score"]


# -- a run through the API and the engine -------------------------------------------------------------


def test_run_skip_done_verify_and_finish(api, runtime, engine, make_incident):
    incident = make_incident(services=["checkout"])
    run = start(api, incident.number)
    assert run["params"] == {"service": {"value": "checkout", "source": "incident"}}
    assert [s["state"] for s in run["steps"]] == ["pending"] * 4
    diagnosis = step_in(run, "Diagnosis")
    assert diagnosis["command"] == "printf '%s\\n' checkout"
    assert diagnosis["description"] == "Which service we look at"

    queued = api.post(run_url(incident.number, run, diagnosis, "run"), json={})
    assert queued.status_code == 202 and queued.json()["state"] == "queued"
    again = api.post(run_url(incident.number, run, diagnosis, "run"), json={})
    assert again.status_code == 409, "a queued step is not queued twice"
    assert engine.run_due() == 1
    shown = api.get(run_url(incident.number, run)).json()
    diagnosed = step_in(shown, "Diagnosis")
    assert diagnosed["state"] == "succeeded" and diagnosed["exit_code"] == 0
    assert diagnosed["output"] == "checkout\n" and diagnosed["actor"] == "alice"

    skipped = api.post(run_url(incident.number, run, step_in(run, "Mitigation"), "skip"), json={"reason": "not needed"})
    assert skipped.status_code == 200 and skipped.json()["state"] == "skipped"
    check = step_in(run, "Verification", "check")
    done = api.post(run_url(incident.number, run, check, "done"), json={"done": True, "comment": "all green"})
    assert done.json()["state"] == "done" and done.json()["reason"] == "all green"
    verify = step_in(run, "Verification")
    assert api.post(run_url(incident.number, run, verify, "run"), json={}).status_code == 202
    engine.run_due()
    assert api.get(run_url(incident.number, run)).json()["outcome_now"] == "success"

    finished = api.post(run_url(incident.number, run) + "/finish", json={"comment": "back to normal"}).json()
    assert finished["outcome"] == "success" and finished["finished_by"] == "alice"
    late = api.post(run_url(incident.number, run, verify, "run"), json={})
    assert late.status_code == 409 and "start a new run" in late.json()["detail"]

    ran = events(runtime, incident.number, "runbook_step_ran")
    assert [e.data["command"] for e in ran] == ["printf '%s\\n' checkout", "test checkout = checkout"]
    assert ran[0].actor == "alice" and ran[0].data["exit_code"] == 0 and ran[0].data["output"] == "checkout\n"
    assert ran[0].data["duration"] >= 0 and ran[0].data["section"] == "Diagnosis"
    assert events(runtime, incident.number, "runbook_step_skipped")[0].data["reason"] == "not needed"
    assert events(runtime, incident.number, "runbook_step_done")[0].data["comment"] == "all green"
    started = events(runtime, incident.number, "runbook_started")[0]
    assert started.data["runbook"] == "web-down" and started.actor == "alice"
    end = events(runtime, incident.number, "runbook_finished")[0]
    assert end.data["outcome"] == "success" and end.message.endswith("(back to normal)")

    with runtime.db.session() as session:
        actions = [a for (a,) in session.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
    assert [a for a in actions if a.startswith("runbook.")] == [
        "runbook.run.start",
        "runbook.step.run",
        "runbook.step.skip",
        "runbook.step.done",
        "runbook.step.run",
        "runbook.run.finish",
    ]


def test_a_dangerous_step_needs_confirm(api, runtime, engine, make_incident, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    incident = make_incident(services=["checkout"])
    run = start(api, incident.number)
    mitigation = step_in(run, "Mitigation")
    assert mitigation["dangerous"] and mitigation["needs_confirmation"]
    refused = api.post(run_url(incident.number, run, mitigation, "run"), json={"confirm": False})
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["errors"] == [{"field": "confirm", "message": problem["detail"]}]
    assert "rm -rf" in problem["detail"]
    assert api.post(run_url(incident.number, run, mitigation, "run")).status_code == 422, "no body: not confirmed"
    with runtime.db.session() as session:
        assert jobs.pending(session, service.STEP_JOB) == []

    confirmed = api.post(run_url(incident.number, run, mitigation, "run"), json={"confirm": True})
    assert confirmed.status_code == 202 and confirmed.json()["confirmed"] is True
    engine.run_due()
    step = step_in(api.get(run_url(incident.number, run)).json(), "Mitigation")
    assert step["state"] == "succeeded" and step["output"] == "restarting checkout\n"
    confirm_event = events(runtime, incident.number, "runbook_step_confirmed")[0]
    assert confirm_event.actor == "alice" and "rm -rf" in confirm_event.data["command"]
    assert events(runtime, incident.number, "runbook_step_ran")[0].data["confirmed"] is True


def test_an_alert_label_with_shell_syntax_is_refused_and_the_reason_is_on_the_timeline(
    api, runtime, engine, make_incident, tmp_path
):
    canary = tmp_path / "canary"
    canary.write_text("still here")
    label = f"x; rm -rf {canary}; echo pwned"
    incident = make_incident(data={"labels": {"service": label, "alertname": "WebDown"}})
    run = start(api, incident.number)
    assert "service" not in run["params"], "no pattern declared: the conservative default refuses it"
    diagnosis = step_in(run, "Diagnosis")
    assert diagnosis["command"] is None and "may hold only letters, digits" in diagnosis["fill_error"]
    assert api.post(run_url(incident.number, run, diagnosis, "run"), json={}).status_code == 409
    started = events(runtime, incident.number, "runbook_started")[0]
    assert "<service> left unfilled" in started.message and "service" in started.data["refused"]
    assert canary.read_text() == "still here"


ANY_TEXT = """
---
id: any-text
params:
  - {name: service, pattern: '.*'}
---
# Any text

## Diagnosis
```bash
printf '%s\\n' <service>
```
"""


def test_a_declared_pattern_lets_shell_syntax_in_as_one_quoted_word(api, runtime, engine, make_incident, runbook_dir):
    write(runbook_dir, "any.md", ANY_TEXT)
    label = "x; id; echo pwned"
    incident = make_incident(data={"labels": {"service": label}})
    run = start(api, incident.number, runbook="any-text")
    assert run["params"]["service"] == {"value": label, "source": "alert"}
    diagnosis = step_in(run, "Diagnosis")
    assert diagnosis["command"] == "printf '%s\\n' 'x; id; echo pwned'"
    api.post(run_url(incident.number, run, diagnosis, "run"), json={})
    engine.run_due()
    assert step_in(api.get(run_url(incident.number, run)).json(), "Diagnosis")["output"] == label + "\n"


def test_a_value_with_a_newline_is_refused(api, make_incident):
    incident = make_incident()
    answer = api.post(
        f"/api/v1/incidents/{incident.number}/runbook-runs",
        json={"runbook": "web-down", "params": {"service": "web\nrm -rf /"}},
    )
    assert answer.status_code == 422 and "one line" in answer.json()["detail"]


def test_a_refused_alert_value_leaves_the_step_unfilled(api, make_incident):
    incident = make_incident(data={"labels": {"service": "web\ntouch /tmp/x"}})
    run = start(api, incident.number)
    diagnosis = step_in(run, "Diagnosis")
    assert diagnosis["command"] is None and "one line" in diagnosis["fill_error"]
    answer = api.post(run_url(incident.number, run, diagnosis, "run"), json={})
    assert answer.status_code == 409


def test_an_unfilled_step_does_not_run_until_a_value_is_given(api, runtime, engine, make_incident):
    incident = make_incident()
    run = start(api, incident.number)
    diagnosis = step_in(run, "Diagnosis")
    assert diagnosis["command"] is None and diagnosis["missing"] == ["service"]
    refused = api.post(run_url(incident.number, run, diagnosis, "run"), json={})
    assert refused.status_code == 409 and "<service>" in refused.json()["detail"]
    queued = api.post(run_url(incident.number, run, diagnosis, "run"), json={"params": {"service": "billing"}})
    assert queued.status_code == 202 and queued.json()["command"] == "printf '%s\\n' billing"
    engine.run_due()
    shown = api.get(run_url(incident.number, run)).json()
    assert step_in(shown, "Diagnosis")["output"] == "billing\n"
    assert shown["params"]["service"] == {"value": "billing", "source": "given"}
    assert step_in(shown, "Verification")["command"] is None, "other steps keep their frozen plan"
    other = api.post(run_url(incident.number, run, step_in(shown, "Mitigation"), "run"), json={"params": {"nope": "x"}})
    assert other.status_code == 422


def test_an_edit_to_the_file_does_not_move_a_running_plan(api, engine, make_incident, runbook_dir):
    incident = make_incident(services=["checkout"])
    run = start(api, incident.number)
    write(runbook_dir, "web-down.md", WEB_DOWN.replace("printf '%s\\n' <service>", "echo edited <service>"))
    shown = api.get(run_url(incident.number, run)).json()
    assert shown["file_changed"] is True
    diagnosis = step_in(shown, "Diagnosis")
    api.post(run_url(incident.number, run, diagnosis, "run"), json={})
    engine.run_due()
    assert step_in(api.get(run_url(incident.number, run)).json(), "Diagnosis")["output"] == "checkout\n"
    assert start(api, incident.number)["steps"][0]["command"] == "echo edited checkout"


def test_timeouts_and_large_output_through_the_engine(api, runtime, engine, make_incident, runbook_dir):
    write(
        runbook_dir,
        "slow.md",
        """
        # Slow and loud

        ## Diagnosis
        ```bash {timeout=0.5}
        echo started; sleep 10
        ```

        ```bash
        head -c 200000 /dev/zero | tr '\\0' a
        ```
        """,
    )
    incident = make_incident()
    run = start(api, incident.number, "slow")
    slow, loud = run["steps"]
    api.post(run_url(incident.number, run, slow, "run"), json={})
    api.post(run_url(incident.number, run, loud, "run"), json={})
    engine.run_due()
    shown = api.get(run_url(incident.number, run)).json()
    slow, loud = shown["steps"]
    assert slow["state"] == "failed" and slow["timed_out"] is True and slow["output"] == "started\n"
    assert slow["duration"] < 5
    assert loud["state"] == "succeeded" and loud["output_bytes"] == 200_000 and loud["truncated"] is True
    assert len(loud["output"].encode()) < 64 * 1024 + 200
    ran = events(runtime, incident.number, "runbook_step_ran")
    assert ran[0].data["timed_out"] is True and "timed out after 0.5s" in ran[0].message
    assert len(ran[1].data["output"]) <= stepjobs.TIMELINE_EXCERPT + 100 and ran[1].data["truncated"] is True


def test_steps_cannot_see_warroom_variables(api, engine, make_incident, runbook_dir, monkeypatch):
    monkeypatch.setenv("WARROOM_TEST_SECRET", "s3cret")
    monkeypatch.setenv("RUNBOOK_VISIBLE", "yes")
    write(
        runbook_dir,
        "env.md",
        '# Env\n\n## Diagnosis\n```bash\necho "${WARROOM_TEST_SECRET:-absent} ${RUNBOOK_VISIBLE}"\n```\n',
    )
    incident = make_incident()
    run = start(api, incident.number, "env")
    api.post(run_url(incident.number, run, run["steps"][0], "run"), json={})
    engine.run_due()
    assert api.get(run_url(incident.number, run)).json()["steps"][0]["output"] == "absent yes\n"


def test_outcome_is_failed_when_a_verify_step_fails_and_unknown_without_verification(api, engine, make_incident):
    incident = make_incident(services=["billing"])
    run = start(api, incident.number)
    verify = step_in(run, "Verification")
    assert run["verify_steps"] == [verify["id"]]
    api.post(run_url(incident.number, run, verify, "run"), json={})
    engine.run_due()
    assert api.post(run_url(incident.number, run) + "/finish").json()["outcome"] == "failed"

    only_diagnosis = start(api, incident.number, section="Diagnosis")
    assert only_diagnosis["verify_steps"] == []
    assert api.post(run_url(incident.number, only_diagnosis) + "/finish").json()["outcome"] == "unknown"


def test_verification_section_commands_count_when_no_step_is_marked_verify(api, engine, make_incident, runbook_dir):
    write(
        runbook_dir,
        "plain.md",
        "# Plain\n\n## Fix\n```bash\ntrue\n```\n\n## Verification\n```bash\ntrue\n```\n\n```bash\nfalse\n```\n",
    )
    incident = make_incident()
    run = start(api, incident.number, "plain")
    _fix, first, second = run["steps"]
    assert run["verify_steps"] == [first["id"], second["id"]]
    for step in (first, second):
        api.post(run_url(incident.number, run, step, "run"), json={})
    engine.run_due()
    assert api.get(run_url(incident.number, run)).json()["outcome_now"] == "failed"
    api.post(run_url(incident.number, run, second, "skip"), json={"reason": "flaky"})
    assert api.get(run_url(incident.number, run)).json()["outcome_now"] == "unknown"


def test_manual_and_command_steps_take_their_own_verbs(api, make_incident):
    incident = make_incident(services=["checkout"])
    run = start(api, incident.number)
    check = step_in(run, "Verification", "check")
    diagnosis = step_in(run, "Diagnosis")
    assert api.post(run_url(incident.number, run, check, "run"), json={}).status_code == 409
    assert api.post(run_url(incident.number, run, diagnosis, "done"), json={"done": True}).status_code == 409
    assert api.post(run_url(incident.number, run, check, "skip"), json={"reason": " "}).status_code == 422
    missing = api.post(f"/api/v1/incidents/{incident.number}/runbook-runs/{run['id']}/steps/nope/run", json={})
    assert missing.status_code == 404
    assert api.get(f"/api/v1/incidents/{incident.number}/runbook-runs/999").status_code == 404
    not_done = api.post(run_url(incident.number, run, check, "done"), json={"done": False, "comment": "still red"})
    assert not_done.json()["state"] == "not_done"


def test_viewers_read_but_cannot_run(client_for, api, make_incident):
    incident = make_incident(services=["checkout"])
    run = start(api, incident.number)
    viewer = client_for("viewer", "vic")
    assert viewer.get("/api/v1/runbooks").status_code == 200
    assert viewer.get(run_url(incident.number, run)).status_code == 200
    diagnosis = step_in(run, "Diagnosis")
    assert viewer.post(run_url(incident.number, run, diagnosis, "run"), json={}).status_code == 403
    assert (
        viewer.post(f"/api/v1/incidents/{incident.number}/runbook-runs", json={"runbook": "web-down"}).status_code
        == 403
    )
    assert viewer.post(run_url(incident.number, run) + "/finish").status_code == 403
    responder = client_for("responder", "rita")
    assert responder.post(run_url(incident.number, run, diagnosis, "run"), json={}).status_code == 202
    assert client_for(None).get("/api/v1/runbooks").status_code == 401


def test_resolving_the_incident_finishes_its_open_runs(api, runtime, engine, make_incident):
    incident = make_incident(services=["checkout"])
    run = start(api, incident.number)
    verify = step_in(run, "Verification")
    api.post(run_url(incident.number, run, verify, "run"), json={})
    engine.run_due()
    diagnosis = step_in(run, "Diagnosis")
    api.post(run_url(incident.number, run, diagnosis, "run"), json={})
    api.post(f"/api/v1/incidents/{incident.number}/resolve", json={"message": "fixed"})
    shown = api.get(run_url(incident.number, run)).json()
    assert shown["outcome"] == "success" and shown["finished_by"] == "alice"
    assert step_in(shown, "Diagnosis")["state"] == "skipped", "the queued step was cancelled"
    with runtime.db.session() as session:
        assert jobs.pending(session, service.STEP_JOB) == []
    assert events(runtime, incident.number, "runbook_finished")[0].data["comment"] == "incident resolved"


def test_a_step_left_running_by_a_stopped_engine_is_never_run_twice(api, runtime, engine, make_incident, clock):
    incident = make_incident(services=["checkout"])
    run = start(api, incident.number)
    diagnosis = step_in(run, "Diagnosis")
    api.post(run_url(incident.number, run, diagnosis, "run"), json={})
    with runtime.db.transaction() as session:
        claimed = stepjobs.claim_step(session, run["id"], diagnosis["id"], now=clock.now())
    assert claimed is not None and claimed.command == "printf '%s\\n' checkout"
    # The engine "died" here; its job is taken again later.
    with runtime.db.transaction() as session, pytest.raises(jobs.Retry):
        stepjobs.claim_step(session, run["id"], diagnosis["id"], now=clock.now())
    clock.advance(minutes=10)
    with runtime.db.transaction() as session:
        assert stepjobs.claim_step(session, run["id"], diagnosis["id"], now=clock.now()) is None
    step = step_in(api.get(run_url(incident.number, run)).json(), "Diagnosis")
    assert step["state"] == "failed" and "not run again" in step["note"] and step["output"] == ""


# -- automatic runs -----------------------------------------------------------------------------------

AUTO = """
---
id: api-errors
match: ['alertname=ApiErrors']
---
# API errors

## Mitigation
```bash {auto}
echo mitigate <service>
```

## Diagnosis
```bash {auto}
echo logs of <service>
```

```bash {auto}
systemctl restart <service>
```

```bash
echo not auto
```
"""


def test_auto_runbook_on_declared_runs_diagnostics_first(api, runtime, engine, make_incident, runbook_dir):
    write(runbook_dir, "api.md", AUTO)
    incident = make_incident(
        data={"labels": {"alertname": "ApiErrors", "service": "api"}, "auto_runbook": True, "runbook": "api-errors"}
    )
    runs = api.get(f"/api/v1/incidents/{incident.number}/runbook-runs").json()
    assert len(runs) == 1 and runs[0]["auto"] is True and runs[0]["started_by"] == "warroom"
    assert engine.run_due() == 2
    ran = events(runtime, incident.number, "runbook_step_ran")
    assert [e.data["command"] for e in ran] == ["echo logs of api", "echo mitigate api"], "diagnostics first"
    assert all(e.actor == "warroom" and e.actor_kind == "system" for e in ran)
    shown = api.get(f"/api/v1/incidents/{incident.number}/runbook-runs/{runs[0]['id']}").json()
    states = {s["template"]: s["state"] for s in shown["steps"]}
    assert states["systemctl restart <service>"] == "pending", "dangerous steps never run unattended"
    assert states["echo not auto"] == "pending"


def test_auto_runbook_without_a_hint_takes_the_best_front_matter_match(
    api, runtime, engine, make_incident, runbook_dir
):
    write(runbook_dir, "api.md", AUTO)
    incident = make_incident(data={"labels": {"alertname": "ApiErrors", "service": "api"}, "auto_runbook": True})
    runs = api.get(f"/api/v1/incidents/{incident.number}/runbook-runs").json()
    assert [r["runbook"] for r in runs] == ["api-errors"]


def test_auto_runbook_is_skipped_when_nothing_matches_and_declaration_still_succeeds(runtime, make_incident):
    incident = make_incident(data={"labels": {"alertname": "Unknown"}, "auto_runbook": True, "runbook": "nope"})
    skipped = events(runtime, incident.number, "runbook_auto_skipped")
    assert len(skipped) == 1 and "no runbook 'nope'" in skipped[0].message
    with runtime.db.session() as session:
        assert service.runs_of(session, incident.number) == []


def test_no_auto_run_unless_the_route_says_so(runtime, make_incident, runbook_dir):
    write(runbook_dir, "api.md", AUTO)
    incident = make_incident(data={"labels": {"alertname": "ApiErrors"}, "runbook": "api-errors"})
    with runtime.db.session() as session:
        assert service.runs_of(session, incident.number) == []
        assert jobs.pending(session, service.STEP_JOB) == []  # no runbook step queued (paging may be)


# -- stats --------------------------------------------------------------------------------------------


def test_stats_from_data(api, runtime, engine, make_incident, clock):
    def incident_resolved_after(minutes: int, severity: str = "P1", use: bool = False, verify_ok: bool = True) -> None:
        incident = make_incident(severity=severity, services=["checkout" if verify_ok else "billing"])
        if use:
            run = start(api, incident.number)
            api.post(run_url(incident.number, run, step_in(run, "Verification"), "run"), json={})
            engine.run_due()
            api.post(run_url(incident.number, run) + "/finish")
        clock.advance(minutes=minutes)
        api.post(f"/api/v1/incidents/{incident.number}/resolve", json={})

    incident_resolved_after(10, use=True)
    incident_resolved_after(20, use=True)
    incident_resolved_after(30, use=True, verify_ok=False)
    incident_resolved_after(60)
    incident_resolved_after(80)
    incident_resolved_after(5, severity="P3")
    figures = {s["runbook"]: s for s in api.get("/api/v1/runbooks/stats").json()}
    web = figures["web-down"]
    assert web["times_used"] == 3 and web["incidents"] == 3
    assert web["succeeded"] == 2 and web["failed"] == 1 and web["success_rate"] == pytest.approx(0.667)
    assert web["median_resolve_with"] == 20 * 60 and web["resolved_with"] == 3
    assert web["median_resolve_without"] == 70 * 60 and web["resolved_without"] == 2, "P3 is not compared"
    assert web["severities"] == ["P1"] and web["last_used"] is not None


def test_stats_show_review_due(api, runbook_dir, clock):
    write(
        runbook_dir,
        "old.md",
        "---\nid: old\nlast_reviewed: 2025-01-01\nreview_every: 90d\n---\n# Old\n",
    )
    figures = {s["runbook"]: s for s in api.get("/api/v1/runbooks/stats").json()}
    assert figures["old"]["review_due"] == "2025-04-01" and figures["old"]["review_overdue"] is True
    assert figures["old"]["times_used"] == 0 and figures["old"]["success_rate"] is None
    assert figures["web-down"]["review_due"] is None


def test_step_state_names_are_the_documented_ones():
    assert {s.value for s in StepState} == {
        "pending",
        "queued",
        "running",
        "succeeded",
        "failed",
        "skipped",
        "done",
        "not_done",
    }


def test_a_broken_auto_runbook_never_fails_the_declaration(runtime, make_incident, runbook_dir):
    write(runbook_dir, "broken.md", "---\nid: broken\nservices: [api]\n---\n# Broken\n```bash\necho 'open\n")
    incident = make_incident(services=["api"], data={"auto_runbook": True, "runbook": "broken"})
    with runtime.db.session() as session:
        assert service.runs_of(session, incident.number) == []
    skipped = events(runtime, incident.number, "runbook_auto_skipped")
    assert skipped and "broken" in skipped[0].message


def test_a_failing_auto_run_is_undone_and_the_incident_still_declared(runtime, make_incident, runbook_dir, monkeypatch):
    write(runbook_dir, "api.md", AUTO)

    def explode(session: Any, run: Any, **kwargs: Any) -> list[str]:
        raise RuntimeError("engine table gone")

    monkeypatch.setattr(service, "queue_unattended", explode)
    incident = make_incident(data={"labels": {"alertname": "ApiErrors"}, "auto_runbook": True})
    with runtime.db.session() as session:
        assert service.runs_of(session, incident.number) == [], "the half-started run was rolled back"
        assert jobs.pending(session, service.STEP_JOB) == []  # no runbook step queued (paging may be)
    skipped = events(runtime, incident.number, "runbook_auto_skipped")
    assert "RuntimeError: engine table gone" in skipped[0].message
    assert events(runtime, incident.number, "runbook_started") == [], "its timeline event went with it"


def test_shell_syntax_in_alert_values_is_printed_never_run(api, engine, make_incident, tmp_path, runbook_dir):
    write(runbook_dir, "any.md", ANY_TEXT)
    marker = tmp_path / "ran"
    values = [
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"a'b; touch {marker}",
        f"> {marker}",
        "* ~ $HOME ${PATH} \\ ' \"",
    ]
    for value in values:
        incident = make_incident(data={"labels": {"service": value}})
        run = start(api, incident.number, runbook="any-text")
        diagnosis = step_in(run, "Diagnosis")
        api.post(run_url(incident.number, run, diagnosis, "run"), json={})
        engine.run_due()
        assert step_in(api.get(run_url(incident.number, run)).json(), "Diagnosis")["output"] == value + "\n"
    # A leading `-` is an option whatever the quoting: refused even where the pattern allows it.
    incident = make_incident(data={"labels": {"service": f"--help && touch {marker} #"}})
    diagnosis = step_in(start(api, incident.number, runbook="any-text"), "Diagnosis")
    assert diagnosis["command"] is None and "starts with '-'" in diagnosis["fill_error"]
    assert not marker.exists()
