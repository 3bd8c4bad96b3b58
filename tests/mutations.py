"""Plants each known mistake in a copy of the repository, runs the tests that must catch it, reports survivors.

Issue 13: 13 of 28 planted mistakes passed the whole suite. Each row of MUTANTS is a promise, the exact source
it breaks, the broken version and the tests that must fail when it is planted. The working tree is never
edited: every mutant gets its own copy of the repository (src/, tests/, docs, pyproject.toml), and pytest runs
inside that copy with PYTHONPATH pointing at its src/, so the copy is what gets imported, in pytest and in the
`python -m warroom` subprocesses the tests start (they inherit the environment). Each mutant's pytest is forked
from this process after it imported pytest, its plugins and warroom's libraries once (never warroom itself nor
the tests): starting a fresh interpreter for each mutant spent more CPU on imports than on the tests.

    python tests/mutations.py             # quick form: each mutant's listed tests
    python tests/mutations.py --no-baseline   # what `make test` runs after the whole suite passed
    python tests/mutations.py --full      # each mutant's whole test files, on every backend
    python tests/mutations.py --list      # the table
    python tests/mutations.py roles-viewer-creates-silence dedup-key-depends-on-label-order   # some rows only
    python tests/mutations.py silence-future-start-active-now --tests tests/alerts/test_x.py   # try a killing test

Outcomes: `killed` (a listed test failed), `SURVIVED` (all passed: a promise nobody checks), `ERROR` (the
original snippet is not in the file exactly once: the code moved and the row must be updated; or the listed
tests do not pass on the unmutated code, or cannot be collected), `TODO` (a row whose killing test is still
to be written or named). Exit status: 0 only when every mutant run was killed and no row is TODO (use
--allow-todo to report TODO rows without failing).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
# What a copy needs: the code, the tests, and the files tests read (docs are checked against the CLI).
COPIED = (
    *("src", "tests", "docs", "bench", "examples"),
    *("pyproject.toml", "README.md", "CHANGELOG.md", "Makefile", "constraints.txt"),
)
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache", "*.egg-info", "data")
# The tests of a row whose killing test another branch is still writing (issue 13): the lead names them.
TODO: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mutant:
    """One planted mistake: `original` (found exactly once in `path`) becomes `replacement`."""

    name: str
    promise: str
    path: str
    original: str
    replacement: str
    tests: tuple[str, ...]  # pytest node ids that must fail; empty: TODO
    owner: str = ""  # for a TODO row: the branch writing its killing test
    hint: str = ""  # for a TODO row: the candidate killing test seen on that branch (check with --tests)


ROLE_TEST = "tests/core/test_route_roles.py::test_each_role_gets_what_the_table_says"
LIFECYCLE_TEST = "tests/incidents/test_lifecycle_documented.py::test_documented_lifecycle"
SEVERITY_TEST = "tests/incidents/test_severities_documented.py::test_the_readme_table_is_what_the_api_serves"

MUTANTS: tuple[Mutant, ...] = (
    # --- roles (issue 13): a viewer may change what only a responder or an admin may.
    Mutant(
        "roles-viewer-creates-silence",
        "README/docs/alerts.md: creating a silence needs the responder role",
        "src/warroom/alerts/api.py",
        "def create_silence(body: SilenceCreate, session: WriteSession, runtime: RuntimeDep, actor: Responder)",
        "def create_silence(body: SilenceCreate, session: WriteSession, runtime: RuntimeDep, actor: Viewer)",
        (f"{ROLE_TEST}[sqlite-POST /api/v1/silences]",),
    ),
    Mutant(
        "roles-viewer-rotates-integration-key",
        "README: keys are the admin's; a viewer may not rotate an integration's key",
        "src/warroom/alerts/api.py",
        "def rotate_integration(name: str, session: WriteSession, runtime: RuntimeDep, actor: Admin)",
        "def rotate_integration(name: str, session: WriteSession, runtime: RuntimeDep, actor: Viewer)",
        (f"{ROLE_TEST}[sqlite-POST /api/v1/integrations/{{name}}/rotate]",),
    ),
    Mutant(
        "roles-viewer-revokes-integration-key",
        "README: keys are the admin's; a viewer may not revoke an integration",
        "src/warroom/alerts/api.py",
        "def revoke_integration(name: str, session: WriteSession, runtime: RuntimeDep, actor: Admin)",
        "def revoke_integration(name: str, session: WriteSession, runtime: RuntimeDep, actor: Viewer)",
        (f"{ROLE_TEST}[sqlite-DELETE /api/v1/integrations/{{name}}]",),
    ),
    Mutant(
        "roles-viewer-puts-user",
        "docs/oncall.md: people are configuration, changed by an admin",
        "src/warroom/oncall/api.py",
        "def replace_user(user_id: str, body: UserConfig, session: WriteSession, runtime: RuntimeDep, actor: Admin)",
        "def replace_user(user_id: str, body: UserConfig, session: WriteSession, runtime: RuntimeDep, actor: Viewer)",
        (f"{ROLE_TEST}[sqlite-PUT /api/v1/users/{{user_id}}]",),
    ),
    Mutant(
        "roles-viewer-puts-policy",
        "docs/oncall.md: escalation policies are configuration, changed by an admin",
        "src/warroom/oncall/api.py",
        "    policy_id: str, body: PolicyConfig, session: WriteSession, runtime: RuntimeDep, actor: Admin\n",
        "    policy_id: str, body: PolicyConfig, session: WriteSession, runtime: RuntimeDep, actor: Viewer\n",
        (f"{ROLE_TEST}[sqlite-PUT /api/v1/policies/{{policy_id}}]",),
    ),
    Mutant(
        "roles-new-route-without-a-row",
        "issue 13: a new route without a row in the role matrix fails, naming it",
        "src/warroom/app.py",
        '    @app.get("/health", tags=["ops"])\n',
        '    @app.get("/healthz", tags=["ops"])\n    @app.get("/health", tags=["ops"])\n',
        ("tests/core/test_route_roles.py::test_every_route_has_a_row[sqlite]",),
    ),
    # --- lifecycle (issue 13): the refusal test used to build its cases from this very table.
    Mutant(
        "lifecycle-investigating-to-acknowledged",
        "README Lifecycle: investigating does not go back to acknowledged",
        "src/warroom/incidents/lifecycle.py",
        "    Status.INVESTIGATING: (Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED),\n",
        "    Status.INVESTIGATING: (Status.ACKNOWLEDGED, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED),\n",
        (f"{LIFECYCLE_TEST}[sqlite-investigating->acknowledged]",),
    ),
    Mutant(
        "lifecycle-resolved-without-reopen",
        "README Lifecycle: a resolved incident comes back only through reopen",
        "src/warroom/incidents/lifecycle.py",
        "    Status.RESOLVED: (),\n",
        "    Status.RESOLVED: (Status.INVESTIGATING,),\n",
        (f"{LIFECYCLE_TEST}[sqlite-resolved->investigating]",),
    ),
    # --- the intake's promises (issue 13)
    Mutant(
        "intake-answers-before-commit",
        "ARCHITECTURE: an alert that got a 2xx answer is committed (a failed commit must not answer 200)",
        "src/warroom/alerts/intake.py",
        "                results = pipeline.ingest_many(session, runtime, items, now=now)\n"
        "                session.commit()\n",
        "                results = pipeline.ingest_many(session, runtime, items, now=now)\n"
        "                for request, result in zip(batch, results, strict=True):\n"
        "                    request.done(result)\n"
        "                session.commit()\n",
        ("tests/alerts/test_promises.py::test_a_failed_write_is_never_answered_2xx[sqlite-commit]",),
    ),
    Mutant(
        "intake-writer-error-answers-200",
        "ARCHITECTURE: a writer error is never answered 200 with an empty result",
        "src/warroom/alerts/intake.py",
        "                batch[0].done(exc)\n",
        "                batch[0].done(pipeline.IngestResult(batch[0].ref.name))\n",
        ("tests/alerts/test_promises.py::test_a_failed_write_is_never_answered_2xx[sqlite-writer]",),
    ),
    Mutant(
        "dedup-same-fingerprint-twice-in-one-batch",
        "docs/alerts.md: alerts are deduplicated by fingerprint, also within one batch",
        "src/warroom/alerts/pipeline.py",
        "        fresh.discard((integration.id, fingerprint))\n",
        "",
        ("tests/alerts/test_promises.py::test_the_same_fingerprint_twice_in_one_request_is_one_alert[sqlite]",),
    ),
    Mutant(
        "silence-future-start-active-now",
        "docs/alerts.md: a silence with a later --start holds nothing back before it starts",
        "src/warroom/alerts/silences.py",
        "select(Silence.id, Silence.matchers).where(Silence.starts_at <= now, Silence.ends_at > now)",
        "select(Silence.id, Silence.matchers).where(Silence.ends_at > now)",
        ("tests/alerts/test_promises.py::test_a_silence_that_starts_later_holds_nothing_back_now[sqlite]",),
    ),
    Mutant(
        "silence-ignores-routed-service",
        "docs/alerts.md: silences match the alert's labels plus `service` (the routed service)",
        "src/warroom/alerts/batch.py",
        '            labels.setdefault("service", alert.service)\n        if self._silences is None:\n',
        "            pass\n        if self._silences is None:\n",
        ("tests/alerts/test_promises.py::test_a_silence_on_service_matches_the_routed_service[sqlite]",),
    ),
    Mutant(
        "x-routing-key-ignored",
        "docs/alerts.md: a PagerDuty sender may give its key in the X-Routing-Key header",
        "src/warroom/alerts/api.py",
        '        key = key or request.headers.get("x-routing-key")\n',
        "",
        ("tests/alerts/test_promises.py::test_pagerduty_key_in_the_x_routing_key_header[sqlite]",),
    ),
    Mutant(
        "sender-acknowledges-whole-incident",
        "docs/security.md: a sender acknowledges its own alerts; the incident only when every firing alert is",
        "src/warroom/alerts/pipeline.py",
        "        ctx.acknowledged[alert.incident_id] = integration_actor(integration)\n",
        "        pass\n",
        (
            "tests/alerts/test_sender_scope.py::test_senders_acknowledge_the_incident_once_every_firing_alert_is[sqlite]",
        ),
    ),
    Mutant(
        "signed-link-hmac-not-checked",
        "docs/oncall.md: one-click links are signed; an edited link is refused",
        "src/warroom/notify/links.py",
        "    if not hmac.compare_digest(expected, mac):\n",
        "    if False and not hmac.compare_digest(expected, mac):\n",
        ("tests/notify/test_links.py::test_a_link_edited_to_name_another_incident_is_refused[sqlite]",),
        owner="sec-links",
    ),
    Mutant(
        "escalation-every-level-waits-level-1",
        "docs/oncall.md: each level waits its own escalate_after before the next is paged",
        "src/warroom/oncall/paging.py",
        'schedule_step(session, escalation, now + timedelta(seconds=level["escalate_after"]), now)',
        'schedule_step(session, escalation, now + timedelta(seconds=levels[0]["escalate_after"]), now)',
        ("tests/oncall/test_paging.py::test_each_level_waits_its_own_escalate_after[sqlite]",),
        owner="sec-links",
    ),
    Mutant(
        "runbook-confirm-auto-runs-unattended",
        "docs/runbooks.md: a step marked confirm always asks a person, even when also marked auto",
        "src/warroom/runbooks/plan.py",
        "            and not self.needs_confirmation\n",
        "            and not self.danger_reasons\n",
        ("tests/runbooks/test_security.py::test_a_confirm_auto_step_never_runs_without_a_person[sqlite]",),
        owner="sec-runbooks",
    ),
    # --- more README promises, each with a test that kills it today.
    Mutant(
        "auth-token-secret-not-checked",
        "README: an invalid token gets 401 (a token with a real lookup part but a wrong secret is invalid)",
        "src/warroom/auth/service.py",
        "    if token is None or not matches or token.revoked_at is not None:\n",
        "    if token is None or token.revoked_at is not None:\n",
        (f"{ROLE_TEST}[sqlite-GET /api/v1/whoami]",),
    ),
    Mutant(
        "auth-revoked-token-accepted",
        "README: DELETE /tokens/{id-or-name} revokes; a revoked token gets 401",
        "src/warroom/auth/service.py",
        "    if token is None or not matches or token.revoked_at is not None:\n",
        "    if token is None or not matches:\n",
        (f"{ROLE_TEST}[sqlite-GET /api/v1/whoami]",),
    ),
    Mutant(
        "roles-responder-counts-as-admin",
        "README: admin does everything including tokens and the audit log; a responder may not",
        "src/warroom/auth/actor.py",
        "_LEVELS = {Role.VIEWER: 0, Role.RESPONDER: 1, Role.ADMIN: 2}\n",
        "_LEVELS = {Role.VIEWER: 0, Role.RESPONDER: 2, Role.ADMIN: 2}\n",
        (f"{ROLE_TEST}[sqlite-GET /api/v1/audit]",),
    ),
    Mutant(
        "problem-conflict-is-400",
        "README: an illegal transition answers 409",
        "src/warroom/errors.py",
        "    status = 409\n",
        "    status = 400\n",
        (f"{LIFECYCLE_TEST}[sqlite-resolved->monitoring]",),
    ),
    Mutant(
        "problem-malformed-json-is-422",
        "README: malformed JSON answers 400 (wrong shape is 422)",
        "src/warroom/problems.py",
        'return problem(400, "Malformed JSON", "The request body is not valid JSON.", instance=request.url.path)',
        'return problem(422, "Malformed JSON", "The request body is not valid JSON.", instance=request.url.path)',
        ("tests/incidents/test_api.py::test_malformed_json_is_400[sqlite]",),
    ),
    Mutant(
        "problem-body-limit-off",
        "README: a body over 1 MiB answers 413",
        "src/warroom/problems.py",
        "MAX_BODY_BYTES = 1024 * 1024\n",
        "MAX_BODY_BYTES = 1024 * 1024 * 64\n",
        ("tests/incidents/test_api.py::test_body_over_one_mebibyte_is_413[sqlite]",),
    ),
    Mutant(
        "dedup-key-depends-on-label-order",
        "docs/alerts.md: the fingerprint is computed from the sorted labels",
        "src/warroom/alerts/routing.py",
        '    text = "\\x1f".join(f"{k}\\x1e{labels[k]}" for k in sorted(labels))\n',
        '    text = "\\x1f".join(f"{k}\\x1e{labels[k]}" for k in labels)\n',
        ("tests/alerts/test_formats.py::test_missing_fingerprint_is_computed_the_same_way_each_time",),
    ),
    Mutant(
        "silence-regex-not-anchored",
        "docs/alerts.md: matchers are fully anchored, like Alertmanager's",
        "src/warroom/alerts/matchers.py",
        '                regex = re.compile(f"^(?:{value})$")\n',
        '                regex = re.compile(f"(?:{value})")\n',
        ("tests/alerts/test_matchers.py::test_regexes_are_fully_anchored",),
    ),
    Mutant(
        "severity-p1-ack-target",
        "README severity table: P1 is acknowledged within 15 min",
        "src/warroom/incidents/severities.py",
        '"P1", 1, "Major feature broken or severe degradation", _m(15), _m(60),',
        '"P1", 1, "Major feature broken or severe degradation", _m(5), _m(60),',
        (f"{SEVERITY_TEST}[sqlite]",),
    ),
    Mutant(
        "severity-p2-total-target",
        "README severity table: P2's total target is 2 h (not the 1 h 45 of its phases)",
        "src/warroom/incidents/severities.py",
        "        total=_m(120),\n",
        "",
        (f"{SEVERITY_TEST}[sqlite]",),
    ),
    Mutant(
        "lifecycle-moving-on-is-no-acknowledgement",
        "README Lifecycle: a person moving an unacknowledged incident on acknowledges it (counts for MTTA)",
        "src/warroom/incidents/service.py",
        "    if actor.is_person and incident.acknowledged_at is None and target is not Status.ACKNOWLEDGED:\n",
        "    if actor.is_person and incident.acknowledged_at is None and target is Status.ACKNOWLEDGED:\n",
        (
            "tests/incidents/test_lifecycle.py::"
            "test_moving_on_without_ack_counts_as_acknowledgement_for_people_only[sqlite]",
        ),
    ),
    Mutant(
        "silence-matches-every-alert",
        "docs/alerts.md: a silence holds back only the alerts its matchers match",
        "src/warroom/alerts/batch.py",
        "            if silence.matches(labels):\n",
        "            if True:\n",
        (
            "tests/alerts/test_suppression.py::"
            "test_a_silenced_alert_is_stored_but_opens_nothing_until_the_silence_ends[sqlite]",
        ),
    ),
    Mutant(
        "problem-unknown-incident-is-422",
        "README: an unknown incident answers 404",
        "src/warroom/errors.py",
        "    status = 404\n",
        "    status = 422\n",
        ("tests/incidents/test_api.py::test_unknown_incident_is_404_and_illegal_transition_409[sqlite]",),
    ),
    Mutant(
        "drill-pages-not-marked",
        "docs/learning.md#drills: every message about a drill incident starts with DRILL (title and body)",
        "src/warroom/notify/service.py",
        "    mark_drill(session, notification)\n",
        "",
        (
            "tests/drills/test_scenario_drill.py::test_a_drill_runs_the_whole_loop_and_reports_against_the_targets[sqlite]",
        ),
    ),
    Mutant(
        "drill-flagged-after-paging",
        "docs/learning.md#drills: a drill's incident is flagged before paging composes its first message",
        "src/warroom/drills/setup.py",
        "first=True)",
        "first=False)",
        (
            "tests/drills/test_scenario_drill.py::test_a_drill_runs_the_whole_loop_and_reports_against_the_targets[sqlite]",
        ),
    ),
    Mutant(
        "drill-api-takes-a-command",
        "docs/security.md: the drills API refuses a break command (nothing from the network is run)",
        "src/warroom/drills/scenario.py",
        '    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)\n',
        '    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)\n',
        ("tests/drills/test_scenario_drill.py::test_the_api_refuses_a_break_command_naming_the_field[sqlite]",),
    ),
    Mutant(
        "postmortem-stale-edit-overwrites",
        "docs/learning.md: an edit made on an old version is a 409 and nothing is written",
        "src/warroom/postmortems/service.py",
        "    if based_on != postmortem.version:\n",
        "    if False:\n",
        ("tests/postmortems/test_editor.py::test_a_stale_version_is_a_conflict_and_nothing_is_lost[sqlite]",),
    ),
    Mutant(
        "roles-responder-reopens-published-postmortem",
        "docs/learning.md: a published post-mortem is read-only until an admin reopens it",
        "src/warroom/postmortems/api.py",
        "def reopen_postmortem(number: PathId, session: WriteSession, runtime: RuntimeDep, actor: Admin)",
        "def reopen_postmortem(number: PathId, session: WriteSession, runtime: RuntimeDep, actor: Responder)",
        (f"{ROLE_TEST}[sqlite-POST /api/v1/postmortems/{{number}}/reopen]",),
    ),
    Mutant(
        "postmortem-template-not-sandboxed",
        "docs/learning.md: a team's template is rendered in Jinja2's sandbox",
        "src/warroom/postmortems/templates.py",
        "    return SandboxedEnvironment(",
        "    from jinja2 import Environment\n\n    return Environment(",
        ("tests/postmortems/test_template.py::test_the_sandbox_keeps_templates_away_from_python[sqlite]",),
    ),
    Mutant(
        "action-item-line-removed-item-stays",
        "docs/learning.md: removing a checklist line removes its action item",
        "src/warroom/postmortems/actions.py",
        "            session.delete(item)\n",
        "            pass\n",
        ("tests/postmortems/test_editor.py::test_editing_in_the_editor_keeps_action_items_in_step[sqlite]",),
    ),
    Mutant(
        "postmortem-publish-keeps-reminding",
        "docs/learning.md: publishing a post-mortem cancels its reminders",
        "src/warroom/postmortems/service.py",
        "        schedule.cancel(session, postmortem.incident_id)\n",
        "        pass\n",
        (
            "tests/postmortems/test_reminders.py::"
            "test_the_commander_is_reminded_when_due_and_overdue_until_published[sqlite]",
        ),
    ),
    Mutant(
        "report-night-in-utc",
        "docs/learning.md: pages at night are counted on the person's own clock (their time zone)",
        "src/warroom/reports/load.py",
        "        zone = zones.get(user, UTC_ZONE)\n",
        "        zone = UTC_ZONE\n",
        ("tests/reports/test_figures.py::test_on_call_load_counts_nights_on_each_persons_clock[sqlite]",),
    ),
    Mutant(
        "report-p90-rounded-rank",
        "docs/learning.md: p90 is the nearest rank (of 5 values, the 5th)",
        "src/warroom/reports/figures.py",
        "    return ordered[math.ceil(0.9 * len(ordered)) - 1]\n",
        "    return ordered[round(0.9 * len(ordered)) - 1]\n",
        ("tests/reports/test_figures.py::test_phases_per_severity_use_each_severitys_target[sqlite]",),
    ),
    Mutant(
        "report-group-judged-by-one-severity",
        "docs/learning.md: in a service's, team's or policy's row each incident is judged by its own severity's target",
        "src/warroom/reports/phases.py",
        "                if severity in targets:\n                    column[start:stop] = targets[severity][p]\n",
        '                if "P1" in targets:\n                    column[start:stop] = targets["P1"][p]\n',
        ("tests/reports/test_figures.py::test_grouped_by_service_team_and_policy[sqlite]",),
    ),
    Mutant(
        "report-target-exclusive",
        "docs/learning.md: a duration equal to its target met it",
        "src/warroom/reports/phases.py",
        "getattr(s, attr).total_seconds() + _SLACK for",
        "getattr(s, attr).total_seconds() - _SLACK for",
        ("tests/reports/test_figures.py::test_phases_of_the_whole_month_against_targets[sqlite]",),
    ),
    Mutant(
        "report-flap-window-exclusive",
        "docs/learning.md: fired again within flap_minutes (the limit included) is a flap",
        "src/warroom/reports/noise.py",
        "last_resolved.pop(alert) <= window + 1e-3:",
        "last_resolved.pop(alert) < window - 1e-3:",
        ("tests/reports/test_figures.py::test_flapping_within_the_window[sqlite-30-2-2]",),
    ),
    Mutant(
        "report-page-per-contact-method",
        "docs/learning.md: a page is one person at one step, however many contact methods it went to",
        "src/warroom/reports/load.py",
        "            Notification.level,\n        )\n",
        "            Notification.level,\n            Notification.method,\n        )\n",
        ("tests/reports/test_figures.py::test_on_call_load_counts_nights_on_each_persons_clock[sqlite]",),
    ),
    Mutant(
        "report-ack-last-wins",
        "docs/learning.md: a person's time to acknowledge counts the incidents they acknowledged first",
        "src/warroom/reports/load.py",
        "        order = np.lexsort((event, at, incidents))  # by incident, then time, then event id\n",
        "        order = np.lexsort((-event, -at, incidents))\n",
        ("tests/reports/test_figures.py::test_on_call_load_counts_nights_on_each_persons_clock[sqlite]",),
    ),
    Mutant(
        "report-ack-time-of-anyone",
        "docs/learning.md: a person's time to acknowledge counts the incidents they acknowledged first",
        "src/warroom/reports/load.py",
        "if a >= 0 and acks.actors[a] == user and (ack_at := float(acks.at[a])) >= page_at",
        "if a >= 0 and (ack_at := float(acks.at[a])) >= page_at",
        ("tests/reports/test_figures.py::test_on_call_load_counts_nights_on_each_persons_clock[sqlite]",),
    ),
    Mutant(
        "report-markdown-names-unescaped",
        "docs/learning.md: names in the retrospective are escaped (a service called <script> is text)",
        "src/warroom/reports/render.py",
        "    return escape(str(value)).replace(",
        "    return str(value).replace(",
        ("tests/reports/test_api.py::test_the_retrospective_in_markdown_embeds_charts_and_escapes_names[sqlite]",),
    ),
    Mutant(
        "report-chart-labels-unescaped",
        "docs/learning.md: every chart label is escaped",
        "src/warroom/reports/charts.py",
        '        f"{escape(text)}</text>"',
        '        f"{text}</text>"',
        ("tests/reports/test_charts.py::test_labels_and_titles_are_text_never_markup",),
    ),
    Mutant(
        "report-csv-formula-kept",
        "docs/learning.md: a CSV text cell a spreadsheet would run as a formula is written with a leading '",
        "src/warroom/reports/render.py",
        """["'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c for c in row]""",
        "list(row)",
        ("tests/reports/test_render.py::test_names_starting_like_a_formula_are_written_as_text",),
    ),
    Mutant(
        "report-counts-drills",
        "docs/learning.md: reports leave drill incidents out unless --include-drills",
        "src/warroom/reports/drills.py",
        "    return Incident.drill.is_(True)\n",
        "    return Incident.drill.is_(False) & Incident.drill.is_(True)\n",
        ("tests/reports/test_figures.py::test_drills_are_left_out_unless_asked[sqlite]",),
    ),
    Mutant(
        "statuspage-internal-title-published",
        "docs/statuspage.md: the internal title never reaches the public page",
        "src/warroom/statuspage/publishing.py",
        "        incident_id=incident.id,\n        title=title,\n",
        "        incident_id=incident.id,\n        title=incident.title,\n",
        (
            "tests/statuspage/test_leak.py::"
            "test_nothing_internal_reaches_the_snapshot_history_or_public_incident[sqlite]",
        ),
    ),
    Mutant(
        "statuspage-template-without-confirmation",
        "docs/statuspage.md: without text, the template is posted only when the person confirms it",
        "src/warroom/statuspage/publishing.py",
        "    elif use_template:\n",
        "    elif True:\n",
        ("tests/statuspage/test_publishing.py::test_without_text_the_template_is_used_only_when_confirmed[sqlite]",),
    ),
    Mutant(
        "statuspage-drill-published",
        "docs/statuspage.md: a drill is never published",
        "src/warroom/statuspage/publishing.py",
        "    if is_drill(incident):\n",
        "    if False:\n",
        ("tests/statuspage/test_publishing.py::test_a_drill_is_never_published[sqlite]",),
    ),
    Mutant(
        "statuspage-maintenance-pages-anyway",
        "docs/statuspage.md: announced maintenance holds back paging for its services (one window per service)",
        "src/warroom/statuspage/maintenance.py",
        "    for service in services:\n",
        "    for service in services[:0]:\n",
        (
            "tests/statuspage/test_maintenance.py::"
            "test_a_window_moves_on_by_itself_and_suppresses_paging_while_it_runs[sqlite]",
        ),
    ),
    Mutant(
        "statuspage-override-ignored",
        "docs/statuspage.md: a person's override wins until cleared",
        "src/warroom/statuspage/status.py",
        "    if override:\n",
        "    if override and not override:\n",
        (
            "tests/statuspage/test_components.py::"
            "test_an_override_wins_until_cleared_on_the_incident_timeline_or_the_audit_log[sqlite]",
        ),
    ),
    Mutant(
        "statuspage-face-stale-after-change",
        "docs/statuspage.md: a change shows within a second; a new version drops the old one's bodies",
        "src/warroom/statuspage/cache.py",
        "                self._state = _State(version=version, checked_at=self.monotonic(), snapshot=snapshot)\n",
        "                state.version = version\n",
        ("tests/statuspage/test_public.py::test_a_change_shows_at_once_and_changes_the_etag[sqlite]",),
    ),
    Mutant(
        "statuspage-face-304-for-any-etag",
        "docs/statuspage.md: 304 only to a matching If-None-Match",
        "src/warroom/statuspage/cache.py",
        '        return "*" in tags or etag in tags or f"W/{etag}" in tags\n',
        "        return True\n",
        ("tests/statuspage/test_public.py::test_every_public_route_sends_validators_and_answers_304[sqlite-/status]",),
    ),
    Mutant(
        "statuspage-face-html-unescaped",
        "docs/statuspage.md: whatever a person typed is shown as text",
        "src/warroom/statuspage/pages.py",
        "    autoescape=select_autoescape(default=True, default_for_string=True),\n",
        "    autoescape=False,\n",
        ("tests/statuspage/test_public.py::test_text_people_typed_is_shown_as_text[sqlite]",),
    ),
    Mutant(
        "statuspage-face-v2-key-differs",
        "docs/statuspage.md: the same keys as Atlassian Statuspage's v2 API",
        "src/warroom/statuspage/v2.py",
        '        "tweet_id": None,\n',
        '        "tweet": None,\n',
        ("tests/statuspage/test_v2_shape.py::test_summary_has_statuspage_keys_and_types[sqlite]",),
    ),
    Mutant(
        "subscribers-no-one-click-unsubscribe-header",
        "docs/statuspage.md: every message carries List-Unsubscribe-Post (RFC 8058 one-click)",
        "src/warroom/statuspage/subscriber_messages.py",
        '    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"\n',
        "",
        ("tests/subscribers/test_email.py::test_double_opt_in_then_update_then_one_click_unsubscribe[sqlite]",),
    ),
    Mutant(
        "subscribers-send-job-resends-sent",
        "docs/statuspage.md: a message marked sent is never sent again",
        "src/warroom/statuspage/subscriber_delivery.py",
        'Delivery.subscriber_id.between(lo, hi), Delivery.state == "pending")\n',
        'Delivery.subscriber_id.between(lo, hi), Delivery.state != "failed")\n',
        ("tests/subscribers/test_webhooks.py::test_publishing_the_same_update_twice_delivers_it_once[sqlite]",),
    ),
    Mutant(
        "subscribers-no-rate-limit",
        "docs/statuspage.md: subscription requests are rate-limited per client address",
        "src/warroom/statuspage/ratelimit.py",
        "            if len(times) >= self.requests:\n",
        "            if False:\n",
        ("tests/subscribers/test_email.py::test_subscription_requests_are_rate_limited_per_client[sqlite]",),
    ),
    Mutant(
        "subscribers-confirming-confirms-nothing",
        "docs/statuspage.md: opening the confirmation link starts the updates",
        "src/warroom/statuspage/subscribers.py",
        '    subscriber.state, subscriber.confirmed_at = "confirmed", now\n',
        '    subscriber.state, subscriber.confirmed_at = "pending", now\n',
        ("tests/subscribers/test_email.py::test_double_opt_in_then_update_then_one_click_unsubscribe[sqlite]",),
    ),
    Mutant(
        "subscribers-filter-ignored",
        "docs/statuspage.md: a subscriber with a component filter gets only updates naming its components",
        "src/warroom/statuspage/subscriber_delivery.py",
        "    return not filter_ids or not notice_ids or bool(set(filter_ids) & set(notice_ids))\n",
        "    return True\n",
        ("tests/subscribers/test_email.py::test_component_filter[sqlite]",),
    ),
    Mutant(
        "subscribers-second-subscribe-adds-row",
        "docs/statuspage.md: subscribing the same address twice changes nothing",
        "src/warroom/statuspage/subscribers.py",
        '        .on_conflict_do_nothing(index_elements=["kind", "address"])\n',
        '        .on_conflict_do_update(index_elements=["kind", "address"], set_={"state": "pending"})\n',
        ("tests/subscribers/test_email.py::test_subscribing_twice_changes_nothing_and_says_the_same[sqlite]",),
    ),
    Mutant(
        "console-no-csrf-check",
        "docs/console.md: an action without the session's CSRF token is refused with 403",
        "src/warroom/web/session.py",
        "        if not browser_sessions.csrf_matches(secret, await offered_csrf(request)):\n",
        "        if False:\n",
        ("tests/web/test_incident_pages.py::test_every_action_without_the_csrf_token_is_refused[sqlite]",),
    ),
    Mutant(
        "console-revoked-session-still-works",
        "docs/console.md: an ended session is refused on its very next request",
        "src/warroom/auth/sessions.py",
        "    if browser.revoked_at is not None or account.disabled_at is not None:\n",
        "    if account.disabled_at is not None:\n",
        ("tests/web/test_sessions.py::test_logout_ends_the_session_on_the_server[sqlite]",),
    ),
    Mutant(
        "console-viewer-acts",
        "docs/console.md: a viewer sees the console but cannot act on incidents",
        "src/warroom/web/session.py",
        "RespondingPerson = Annotated[Visit, Depends(acting(Role.RESPONDER))]\n",
        "RespondingPerson = Annotated[Visit, Depends(acting(Role.VIEWER))]\n",
        ("tests/web/test_incident_pages.py::test_a_viewer_gets_403_on_every_action_and_nothing_changes[sqlite]",),
    ),
    Mutant(
        "console-no-autoescape",
        "docs/console.md: an alert label `<script>` shows as text",
        "src/warroom/web/templating.py",
        "    autoescape=select_autoescape(default=True, default_for_string=True),\n",
        "    autoescape=False,\n",
        ("tests/web/test_incident_pages.py::test_an_alert_label_and_a_title_are_shown_as_text[sqlite]",),
    ),
    # --- the live feed (issue 15)
    Mutant(
        "live-no-notify-at-commit",
        "docs/console.md: on PostgreSQL an event written by any process reaches every process's streams",
        "src/warroom/incidents/livewrites.py",
        "    ids = session.info.pop(_PENDING, [])\n",
        "    ids = session.info.pop(_PENDING, [])\n    ids = []\n",
        (
            "tests/incidents/test_live.py::test_an_event_written_by_another_serve_process_reaches_a_client_and_serve_stops_promptly[postgresql]",
        ),
    ),
    Mutant(
        "live-slow-subscriber-unbounded",
        "docs/console.md: a client that stops reading is told to reload and dropped; its memory stays bounded",
        "src/warroom/incidents/live.py",
        "if len(self._queue) + len(wanted) > self.limit:",
        "if False:",
        (
            "tests/incidents/test_live.py::test_a_slow_subscriber_is_told_to_reload_and_never_holds_back_the_others[sqlite]",
        ),
    ),
    Mutant(
        "live-stream-never-ends-on-stop",
        "docs/console.md: when warroom serve stops, each stream sends reload and ends",
        "src/warroom/incidents/live_api.py",
        "        shutdown_event=stopping,\n",
        "",
        (
            "tests/incidents/test_live.py::test_an_event_written_by_another_serve_process_reaches_a_client_and_serve_stops_promptly[sqlite]",
        ),
    ),
    # --- the console's runbook (issue 15)
    Mutant(
        "console-runbook-confirm-not-checked",
        "docs/console.md: a dangerous step runs only when the second form names its exact command",
        "src/warroom/web/runbooks.py",
        'if confirm_command.replace("\\r\\n", "\\n") != data["command"]:',
        "if False:",
        (
            "tests/web/test_runbook_pages.py::test_a_dangerous_step_runs_only_when_the_second_form_names_its_command[sqlite]",
        ),
    ),
    Mutant(
        "console-runbook-raw-html",
        "docs/console.md: raw HTML in a runbook is shown as text",
        "src/warroom/web/runbook_view.py",
        '{"html": False, "linkify": False, "typographer": False}',
        '{"html": True, "linkify": False, "typographer": False}',
        ("tests/web/test_runbook_pages.py::test_a_runbook_page_renders_the_file_its_problems_and_figures[sqlite]",),
    ),
    Mutant(
        "console-runbook-person-unattended",
        "docs/console.md: a step a person runs from the console runs (it is not an unattended run)",
        "src/warroom/auth/actor.py",
        'PERSON_KINDS: tuple[str, ...] = ("token", "user", "person")',
        'PERSON_KINDS: tuple[str, ...] = ("token", "user")',
        ("tests/web/test_runbook_pages.py::test_a_step_runs_and_its_output_arrives_escaped[sqlite]",),
    ),
    Mutant(
        "sso-state-not-checked",
        "docs/console.md: a sign-on answer that does not carry this login's state is refused",
        "src/warroom/web/sso.py",
        "    if not state or not accounts.same_secret(state, pending.state):\n",
        "    if not state:\n",
        ("tests/web/test_sso.py::test_a_wrong_state_is_refused[sqlite]",),
    ),
    Mutant(
        "sso-nonce-not-checked",
        "docs/console.md: an ID token must carry this login's nonce",
        "src/warroom/auth/oidc.py",
        "    if not isinstance(offered, str) or not accounts.same_secret(offered, nonce):\n",
        "    if not isinstance(offered, str):\n",
        ("tests/web/test_sso.py::test_a_wrong_nonce_is_refused[sqlite]",),
    ),
    Mutant(
        "sso-audience-not-checked",
        "docs/console.md: an ID token issued for another application is refused",
        "src/warroom/auth/oidc.py",
        "    if config.client_id not in audiences:\n",
        "    if False:\n",
        ("tests/web/test_sso.py::test_id_token_claims_are_checked[change0-another application (audience)]",),
    ),
    Mutant(
        "sso-expiry-not-checked",
        "docs/console.md: an expired ID token is refused",
        "src/warroom/auth/oidc.py",
        "    if not isinstance(exp, int | float) or exp <= stamp - LEEWAY:\n",
        "    if not isinstance(exp, int | float):\n",
        ("tests/web/test_sso.py::test_an_expired_id_token_is_refused[sqlite]",),
    ),
    Mutant(
        "sso-unmapped-role-gets-in",
        "docs/console.md: a person whose claims map to no role, with no default_role, is refused",
        "src/warroom/auth/oidc.py",
        "    if config.default_role is not None:\n        return Role(config.default_role)\n",
        "    if True:\n        return Role.VIEWER\n",
        ("tests/web/test_sso.py::test_an_unmapped_role_is_refused_with_a_clear_message[sqlite]",),
    ),
    Mutant(
        "sso-role-kept-from-first-login",
        "docs/console.md: the role is read from the claims at every login",
        "src/warroom/auth/oidc.py",
        "    accounts.set_role(account, role)\n    session.flush()\n",
        "    session.flush()\n",
        ("tests/web/test_sso.py::test_roles_are_read_again_at_each_login_and_the_subject_keeps_the_account[sqlite]",),
    ),
    Mutant(
        "sso-disabled-account-logs-in",
        "docs/console.md: a disabled account is refused at single sign-on too",
        "src/warroom/auth/oidc.py",
        "    if account.disabled_at is not None:\n        raise SsoRefused(",
        "    if False:\n        raise SsoRefused(",
        ("tests/web/test_sso.py::test_a_disabled_account_is_refused[sqlite]",),
    ),
    Mutant(
        "admin-actions-for-any-role",
        "docs/console.md: only admins act on the Admin pages",
        "src/warroom/web/session.py",
        "AdminActing = Annotated[Visit, Depends(acting(Role.ADMIN))]\n",
        "AdminActing = Annotated[Visit, Depends(acting(Role.VIEWER))]\n",
        ("tests/web/test_admin_pages.py::test_a_viewer_sees_no_action_and_is_refused_every_one[sqlite]",),
    ),
    Mutant(
        "admin-config-url-is-a-placeholder",
        "docs/console.md: the integrations' sender configuration has the real URL, not a placeholder",
        "src/warroom/web/admin.py",
        '        {"integration": i, "configs": sender_configs(base, i.type, None)}\n',
        '        {"integration": i, "configs": sender_configs("http://warroom.example", i.type, None)}\n',
        ("tests/web/test_admin_pages.py::test_an_alertmanager_integration_comes_with_a_config_that_works[sqlite]",),
    ),
    Mutant(
        "console-action-not-audited",
        "ARCHITECTURE.md: every change made through the UI lands in the audit log, attributed to the person",
        "src/warroom/web/actions.py",
        "    audit.record(session, visit.actor, entry.action, entry.target, now=now, detail=entry.detail)\n",
        "",
        (
            "tests/web/test_incident_pages.py::test_each_action_is_audited_under_the_person_with_what_it_did[sqlite]",
            "tests/web/test_admin_pages.py::test_each_admin_action_leaves_its_audit_entry_and_says_what_it_did[sqlite]",
        ),
    ),
    Mutant(
        "report-night-offset-across-a-change",
        "docs/learning.md: nights on the person's clock, daylight saving included (a day of change page by page)",
        "src/warroom/reports/load.py",
        "return int(start.total_seconds()) if start is not None and start == end else None",
        "return int(start.total_seconds()) if start is not None else None",
        (
            "tests/reports/test_clock.py::"
            "test_hour_on_a_persons_clock_matches_datetime_across_offset_changes[Europe/Paris-2026-03-29]",
        ),
    ),
    Mutant(
        "report-similar-includes-own-runs",
        "docs/learning.md: resolve_without is over similar incidents that did not use the runbook",
        "src/warroom/reports/runbook_use.py",
        "        similar &= ~ranked.mask(positions(mine))\n",
        "",
        ("tests/reports/test_figures.py::test_similar_incidents_leave_out_the_runbooks_own[sqlite]",),
    ),
    Mutant(
        "console-responder-overrides-for-others",
        "docs/console.md: a responder adds overrides for themselves only; an admin for anyone",
        "src/warroom/web/oncall.py",
        "    if who != visit.username and not visit.can(Role.ADMIN.value):\n",
        "    if False:\n",
        ("tests/web/test_oncall_page.py::test_a_responder_takes_a_shift_for_themselves_only[sqlite]",),
    ),
    Mutant(
        "console-test-results-of-others",
        "docs/console.md: only your own test messages are shown",
        "src/warroom/web/oncall.py",
        "if n.user_id == username and n.kind",
        "if n.kind",
        ("tests/web/test_oncall_page.py::test_send_me_a_test_goes_through_the_outbox_and_shows_the_result[sqlite]",),
    ),
    Mutant(
        "console-alerts-grouped-by-route",
        "docs/console.md: firing alerts are grouped by group key, as the alerts domain groups them",
        "src/warroom/web/alerts_view.py",
        "groups.setdefault(alert.group_key,",
        "groups.setdefault(alert.route,",
        ("tests/web/test_alerts_page.py::test_firing_alerts_are_grouped_by_incident_and_labels_are_text[sqlite]",),
    ),
    Mutant(
        "console-held-back-alerts-mixed-in",
        "docs/console.md: held-back alerts are listed apart, with what holds each back",
        "src/warroom/web/alerts_view.py",
        "        if alert.suppressed_by is not None:\n",
        "        if False:\n",
        ("tests/web/test_alerts_page.py::test_a_silenced_alert_is_listed_apart_with_what_holds_it_back[sqlite]",),
    ),
    Mutant(
        "console-uptime-levels-lenient",
        "docs/console.md: a day is green at 99.9 % up or more",
        "src/warroom/web/monitors_view.py",
        'return "good" if ratio >= 0.999',
        'return "good" if ratio >= 0.98',
        ("tests/web/test_monitors_page.py::test_uptime_bar_and_sparkline_come_from_the_rollups[sqlite]",),
    ),
    Mutant(
        "console-test-message-skips-outbox",
        "docs/console.md: send me a test goes through the notification outbox like a page",
        "src/warroom/notify/service.py",
        '            title="warroom test notification",\n            body=body,\n            state="pending",\n',
        '            title="warroom test notification",\n            body=body,\n            state="sent",\n',
        ("tests/web/test_oncall_page.py::test_send_me_a_test_goes_through_the_outbox_and_shows_the_result[sqlite]",),
    ),
    Mutant(
        "statuspage-head-sends-body",
        "docs/statuspage.md: HEAD answers as GET without a body",
        "src/warroom/statuspage/fastpath.py",
        '            scope, send = {**scope, "method": "GET"}, _without_body(send)\n',
        '            scope, send = {**scope, "method": "GET"}, send\n',
        ("tests/statuspage/test_head.py::test_head_sends_no_body_bytes_at_the_asgi_level[False]",),
    ),
    Mutant(
        "subscribers-confirm-never-expires",
        "docs/statuspage.md: a confirmation link works for 48 hours",
        "src/warroom/statuspage/subscribers.py",
        "purpose == CONFIRM and now - row.created_at >= CONFIRM_FOR:\n",
        "purpose == CONFIRM and False:\n",
        ("tests/subscribers/test_expiry.py::test_a_confirmation_link_expires_after_48_hours_and_says_so[sqlite]",),
    ),
    Mutant(
        "statuspage-remove-ignores-open-incidents",
        "docs/statuspage.md: removing a component an open public incident affects is refused (409)",
        "src/warroom/statuspage/components.py",
        "    if still:\n",
        "    if False:\n",
        (
            "tests/statuspage/test_remove.py::"
            "test_deleting_a_component_an_open_public_incident_affects_is_refused_naming_it[sqlite]",
        ),
    ),
    Mutant(
        "live-list-ignores-new-incidents",
        "docs/console.md: a new incident raised by an alert appears on an open incident list",
        "src/warroom/web/live_parts.py",
        '        "declared",\n',
        "",
        (
            "tests/web/test_live_list.py::test_an_alert_raises_an_incident_that_appears_on_an_open_list_keeping_its_filters[sqlite]",
        ),
    ),
    Mutant(
        "live-list-unescaped-title",
        "docs/console.md: a title arriving live is text, not markup",
        "src/warroom/web/templates/incidents/list_body.html",
        "{{ i.title }}",
        "{{ i.title | safe }}",
        ("tests/web/test_live_list.py::test_a_script_title_arriving_live_is_text[sqlite]",),
    ),
    Mutant(
        "live-list-no-debounce",
        "docs/console.md: a burst costs one render of the list per page",
        "src/warroom/web/live_parts.py",
        "                        await _gather_burst(subscription, pending)\n",
        "                        pass\n",
        ("tests/web/test_live_list.py::test_a_burst_of_changes_costs_one_render[sqlite]",),
    ),
)


@dataclass
class Outcome:
    """What running one mutant gave."""

    mutant: Mutant
    verdict: str  # killed, SURVIVED, ERROR, TODO
    detail: str
    seconds: float


def copy_tree(dest: Path) -> Path:
    """A copy of the repository's code, tests and docs at `dest` (never the working tree itself).

    Files are hard links (a copy is ~600 files, made 96 times): `plant` writes the one file it changes as a
    new file, and the listed tests create files but never rewrite the repository's own."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=IGNORED, copy_function=_link)
        elif source.exists():
            _link(source, dest / name)
    return dest


def _link(source: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    try:
        os.link(source, dest)
    except OSError:  # another file system, or links not allowed: a real copy
        shutil.copy2(source, dest)


def plant(tree: Path, mutant: Mutant) -> str | None:
    """Apply `mutant` inside `tree`; an error message when its original snippet is not there exactly once."""
    target = tree / mutant.path
    if not target.exists():
        return f"{mutant.path} does not exist: update the row"
    text = target.read_text()
    count = text.count(mutant.original)
    if count != 1:
        where = "not found" if count == 0 else f"found {count} times"
        return f"original snippet {where} in {mutant.path}: the code moved, update the row"
    planted = text.replace(mutant.original, mutant.replacement)
    if target.suffix == ".py":
        try:
            compile(planted, str(target), "exec")
        except SyntaxError as exc:
            return f"the replacement does not compile ({exc.msg}, line {exc.lineno}): fix the row"
    target.unlink()  # the copy's file is a hard link to the working tree's: write a new file, never through it
    target.write_text(planted)
    return None


# The migrated SQLite file the tests copy for each test (tests/conftest.py), made once by the probe; a mutant
# planted in what makes it migrates its own.
TEMPLATE_ENV = "WARROOM_TEST_SQLITE_TEMPLATE"
MAKES_TEMPLATE = ("src/warroom/migrations/", "src/warroom/db.py", "src/warroom/alembic.ini")


def environment(tree: Path, template: Path | None = None) -> dict[str, str]:
    """The environment pytest and its subprocesses run with: the copy's src first on the import path."""
    env = dict(os.environ)
    env.pop(TEMPLATE_ENV, None)
    if template is not None:
        env[TEMPLATE_ENV] = str(template)
    paths = [str(tree / "src"), str(tree)]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env["PYTHONPATH"]] if env.get("PYTHONPATH") else paths)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTEST_ADDOPTS", None)
    return env


# Run in a copy: where `warroom` is imported from, and which other modules pytest, its plugins, warroom and the
# listed test modules import (the runner imports those once and forks each mutant's pytest from itself).
PROBE = """
import importlib, importlib.metadata, json, sys
import warroom
from warroom import db
db.upgrade("sqlite:///" + sys.argv.pop(1))
names = ["pytest", *(ep.value.split(":")[0] for ep in importlib.metadata.entry_points(group="pytest11"))]
for name in [*names, "warroom.app", "warroom.cli", "warroom.server", "tests.conftest", *sys.argv[1:]]:
    try:
        importlib.import_module(name)
    except BaseException:
        pass
ours = ("warroom", "tests", "__main__")
modules = [n for n, m in list(sys.modules.items()) if m is not None and n.split(".")[0] not in ours]  # import order
print(json.dumps({"file": warroom.__file__, "modules": modules}))
"""


def check_imports(tree: Path, template: Path, test_modules: Sequence[str] = ()) -> tuple[str | None, list[str]]:
    """An error message unless `python -m warroom` started from the copy would import the copy's code; and the
    modules (not ours) that a pytest run of `test_modules` imports. Migrates a SQLite file at `template`."""
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(template), *test_modules],
        cwd=tree,
        env=environment(tree),
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        found = json.loads(probe.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return f"importing warroom in the copy failed:\n{probe.stderr[-2000:]}", []
    imported = Path(found["file"]).resolve()
    if not imported.is_relative_to(tree.resolve()):
        return f"a subprocess in the copy imports warroom from {imported}, not from the copy", []
    return None, list(found["modules"])


def preload(modules: Sequence[str]) -> str | None:
    """Import `modules` here, once, so that each mutant's pytest (forked from this process) starts with them:
    pytest, its plugins and the libraries warroom uses, never warroom or the tests (each copy imports its own).
    An error message if that left anything that must not be forked (a module of ours, a thread)."""
    with warnings.catch_warnings():  # the children's pytest shows (or filters) warnings; here they are noise
        warnings.simplefilter("ignore")
        for name in modules:
            if name not in sys.modules:
                # A module that does not import alone here is simply imported by the child.
                with contextlib.suppress(BaseException):
                    importlib.import_module(name)
    # What is here now lives as long as the children: out of the collector's sight, each child's gc (pytest
    # collects at the end of the session) does not walk it, nor write to the memory pages it shares with us.
    gc.collect()
    gc.freeze()
    ours = sorted(n for n in sys.modules if n.split(".")[0] in ("warroom", "tests"))
    if ours:
        return f"preloading imported our own modules ({', '.join(ours[:3])}): each copy must import its own"
    if threading.active_count() != 1:
        return f"preloading started threads ({threading.enumerate()}): forking would copy their locks"
    return None


def selection(mutant: Mutant, full: bool) -> list[str]:
    """The pytest arguments for a mutant: its node ids, or with --full the whole files they are in."""
    if not full:
        return list(mutant.tests)
    return sorted({node.split("::", 1)[0] for node in mutant.tests})


def test_modules(mutants: Sequence[Mutant]) -> list[str]:
    """The modules (with their packages' conftests) of the mutants' tests, as `import` names."""
    names: set[str] = set()
    for mutant in mutants:
        for node in mutant.tests:
            path = Path(node.split("::", 1)[0])
            names.add(".".join(path.with_suffix("").parts))
            for parent in path.parents:
                if (ROOT / parent / "conftest.py").exists():
                    names.add(".".join((parent / "conftest").parts))
    return sorted(names)


@dataclass
class Run:
    """One pytest forked into a copy: its process, its output file and when it must be done."""

    pid: int
    tree: Path
    log: Path
    deadline: float


def start_pytest(tree: Path, args: Sequence[str], timeout: float, template: Path | None) -> Run:
    """Fork a pytest that runs `args` inside `tree` (its own process group), with its output in a file.

    A fork of this process, which has pytest, its plugins and warroom's libraries imported already: a fresh
    interpreter per mutant spent ~6 s of CPU importing them, more than most listed tests take to run."""
    log = tree.parent / (tree.name + ".log")
    command = [
        "-x",
        "-q",
        "-rfEs",  # the summary names what failed, and why a test skipped (its mutant would survive)
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        # The plugins were imported before pytest started (preload): their own asserts stay as they are.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        # Each run its own temp root (runs go side by side), and not a hidden folder: runbook folders skip those.
        f"--basetemp={tree.parent / (tree.name + '-pytest')}",
        *args,
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        _child(tree, command, log, template)
    with contextlib.suppress(OSError):  # the child did it first, or has already exited
        os.setpgid(pid, pid)
    return Run(pid, tree, log, time.monotonic() + timeout)


def _child(tree: Path, command: list[str], log: Path, template: Path | None) -> NoReturn:
    """The forked child: become a pytest run in `tree` as `python -m pytest` started there would be."""
    code = 70
    try:
        os.setpgid(0, 0)  # the parent kills the group on a timeout: servers the tests started go too
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.chdir(tree)
        env = environment(tree, template)
        os.environ.clear()
        os.environ.update(env)
        sys.dont_write_bytecode = True
        random.seed()  # each child its own random state, not the parent's copy
        mine = {str(ROOT), str(ROOT / "src"), str(ROOT / "tests"), ""}
        sys.path[:] = [str(tree / "src"), str(tree), *(p for p in sys.path if p not in mine)]
        import pytest

        code = int(pytest.main(command))
        imported = Path(getattr(sys.modules.get("warroom"), "__file__", None) or tree / "src").resolve()
        if not imported.is_relative_to(tree.resolve()):
            print(f"ERROR: the tests imported warroom from {imported}, not from the copy")
            code = 3
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def finish(run: Run, status: int | None) -> tuple[int, str]:
    """The exit code of a run (-1: timed out, `status` None) and the last lines of its output."""
    lines = run.log.read_text(errors="replace").strip().splitlines() if run.log.exists() else []
    if status is None:
        return -1, "timed out"
    return os.waitstatus_to_exitcode(status), "\n".join(lines[-15:])


def wait_any(runs: dict[int, Run]) -> tuple[Run, int | None]:
    """Wait until one of `runs` ends (its wait status) or passes its deadline (killed, with its group: None)."""
    while True:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid in runs:
            return runs.pop(pid), status
        now = time.monotonic()
        for run in list(runs.values()):
            if now > run.deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(run.pid, signal.SIGKILL)
                os.waitpid(run.pid, 0)
                return runs.pop(run.pid), None
        if pid == 0:
            time.sleep(0.02)


def judge(mutant: Mutant, code: int, tail: str, timeout: float) -> tuple[str, str]:
    """The verdict on a mutant from its pytest's exit code and output."""
    if code == -1:
        return "ERROR", f"pytest exit -1: timed out after {timeout:.0f}s"
    if code == 1:  # tests ran and at least one failed
        failed = [line for line in tail.splitlines() if line.startswith(("FAILED", "ERROR"))]
        return "killed", failed[0] if failed else tail.splitlines()[-1]
    if code == 0:
        return "SURVIVED", tail.splitlines()[-1] if tail else "all passed"
    # 2: interrupted or collection errors (the mutant may break an import); 4/5: bad node ids, nothing collected.
    if code == 2 and "error" in tail.lower() and "not found" not in tail.lower():
        return "killed", "collection failed with the mutant planted: " + tail.splitlines()[-1]
    return "ERROR", f"pytest exit {code}: {tail.splitlines()[-1] if tail else ''}"


def remove(tree: Path) -> None:
    """A copy, its pytest temp root and its output file, gone."""
    shutil.rmtree(tree, ignore_errors=True)
    shutil.rmtree(tree.parent / (tree.name + "-pytest"), ignore_errors=True)
    (tree.parent / (tree.name + ".log")).unlink(missing_ok=True)


def run_all(
    mutants: Sequence[Mutant], work: Path, full: bool, timeout: float, jobs: int, template: Path
) -> list[Outcome]:
    """Plant each mutant in a fresh copy and run its tests there, `jobs` at once; the outcomes in order."""
    outcomes: dict[str, Outcome] = {}
    started: dict[str, float] = {}
    pending = list(mutants)
    running: dict[int, Run] = {}
    names: dict[int, Mutant] = {}

    def done(mutant: Mutant, verdict: str, detail: str) -> None:
        outcomes[mutant.name] = Outcome(mutant, verdict, detail, time.monotonic() - started[mutant.name])

    while pending or running:
        while pending and len(running) < jobs:
            mutant = pending.pop(0)
            started[mutant.name] = time.monotonic()
            tree = copy_tree(work / mutant.name)
            error = plant(tree, mutant)
            if error or not mutant.tests:
                remove(tree)
                hint = f"; candidate {mutant.hint}" if mutant.hint else ""
                todo = f"planted fine; killing test to be named (branch {mutant.owner or '?'}{hint})"
                done(mutant, "ERROR" if error else "TODO", error or todo)
                continue
            own = mutant.path.startswith(MAKES_TEMPLATE)
            run = start_pytest(tree, selection(mutant, full), timeout, None if own else template)
            running[run.pid], names[run.pid] = run, mutant
        if running:
            run, status = wait_any(running)
            code, tail = finish(run, status)
            remove(run.tree)
            mutant = names.pop(run.pid)
            done(mutant, *judge(mutant, code, tail, timeout))
    return [outcomes[m.name] for m in mutants]


def smoke_tests(mutants: Sequence[Mutant]) -> list[str]:
    """A few of the listed tests, one per test folder: run unmutated, they show that a forked pytest works."""
    first: dict[str, str] = {}
    for mutant in mutants:
        for node in mutant.tests:
            first.setdefault(node.split("/")[1], node)
    return sorted(first.values())


def baseline(
    mutants: Sequence[Mutant], work: Path, full: bool, timeout: float, template: Path, smoke: bool = False
) -> str | None:
    """An error message unless every selected test passes on the unmutated copy (else `killed` means nothing).

    `smoke`: only one test per folder. Right after the whole suite passed (`make test`) the listed tests are
    known to pass; what is left to show is that they also pass in a forked pytest in a copy (a fork that
    broke, say, the event loop would fail every test and count each mutant as killed)."""
    args = smoke_tests(mutants) if smoke else sorted({arg for mutant in mutants for arg in selection(mutant, full)})
    if not args:
        return None
    tree = copy_tree(work / "baseline")
    try:
        run = start_pytest(tree, args, timeout * 3, template)
        code, tail = finish(*wait_any({run.pid: run}))
    finally:
        remove(tree)
    if code != 0:
        return f"the listed tests do not pass on the unmutated code (pytest exit {code}):\n{tail}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the mutants named (all by default) and print one line each; the exit status says if any survived."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--full", action="store_true", help="run each mutant's whole test files, all backends")
    parser.add_argument("--list", action="store_true", help="print the table and exit")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="mutants run at once")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for one mutant's tests")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="check only one listed test per folder passes unmutated (when the whole suite just passed)",
    )
    parser.add_argument("--allow-todo", action="store_true", help="TODO rows do not fail the run")
    parser.add_argument(
        "--tests",
        action="append",
        default=[],
        metavar="NODE",
        help="run these tests instead of the rows' own (repeatable): to try a candidate killing test for a row",
    )
    args = parser.parse_args(argv)

    known = {m.name: m for m in MUTANTS}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        print(f"unknown mutants: {', '.join(unknown)}; see --list", file=sys.stderr)
        return 2
    chosen = [known[n] for n in args.names] if args.names else list(MUTANTS)
    if args.tests:
        chosen = [replace(m, tests=tuple(args.tests)) for m in chosen]
    if args.list:
        for m in chosen:
            print(f"{m.name}\n  promise: {m.promise}\n  file:    {m.path}\n  tests:   {', '.join(m.tests) or 'TODO'}")
        return 0

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="warroom-mutants-") as tmp:
        work = Path(tmp)
        # One probe in a copy: the copy's warroom is what a subprocess there imports, and what to preload.
        probe, template = copy_tree(work / "probe"), work / "template.db"
        error, modules = check_imports(probe, template, test_modules([m for m in chosen if m.tests]))
        remove(probe)
        error = error or preload(modules)
        if error:
            print(f"ERROR set-up: {error}")
            return 1
        listed = [m for m in chosen if m.tests]
        error = baseline(listed, work, args.full, args.timeout, template, smoke=args.no_baseline)
        if error:
            print(f"ERROR baseline: {error}")
            return 1
        outcomes = run_all(chosen, work, args.full, args.timeout, max(1, args.jobs), template)

    width = max(len(m.name) for m in chosen)
    for o in outcomes:
        print(f"{o.verdict:<8} {o.mutant.name:<{width}}  {o.seconds:5.1f}s  {o.detail}")
    counts = {v: sum(o.verdict == v for o in outcomes) for v in ("killed", "SURVIVED", "ERROR", "TODO")}
    print(
        f"{len(outcomes)} mutants: {counts['killed']} killed, {counts['SURVIVED']} survived, "
        f"{counts['ERROR']} errors, {counts['TODO']} TODO ({time.monotonic() - started:.0f}s, {args.jobs} at once)"
    )
    if counts["TODO"]:
        owners = sorted({o.mutant.owner for o in outcomes if o.verdict == "TODO"})
        print(f"TODO: name the killing tests of the TODO rows in tests/mutations.py (branches: {', '.join(owners)})")
    failed = counts["SURVIVED"] or counts["ERROR"] or (counts["TODO"] and not args.allow_todo)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
