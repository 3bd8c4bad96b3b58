"""The runbook on an incident's page and the Runbooks library: what a responder sees and does, and who may."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select

from warroom.auth.models import AuditEntry
from warroom.config import ConfigFile
from warroom.engine.worker import Engine
from warroom.incidents import timeline
from warroom.runbooks import service
from warroom.runbooks.models import RunbookRun

pytestmark = pytest.mark.backend("sqlite", "postgresql")

CHECKOUT = """
---
id: checkout-down
title: Checkout down
services: [checkout]
---
# Checkout down

## Diagnosis
Look at the **service** first. <b>raw html</b> stays text.

```bash
printf '%s\\n' <service> '<script>alert(1)</script>'
```

## Mitigation
Clear the cache.

```bash
rm -rf "$TMPDIR/warroom-never-exists-<service>"
```

Announce it:

```bash
echo <title>
```

## Verification
- [ ] Dashboard is green

```bash {verify}
test <service> = checkout
```
"""

SEARCH = """
---
id: search-slow
title: Search slow
---
# Search slow

## Diagnosis
```bash
echo search
```
"""

BROKEN = "# Broken checkout\n\n## Fix\n```bash\necho 'never closed\n"


def write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


@pytest.fixture
def runbook_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "runbooks"
    write(folder, "checkout-down.md", CHECKOUT)
    write(folder, "search-slow.md", SEARCH)
    return folder


@pytest.fixture
def config(runbook_dir: Path) -> ConfigFile:
    return ConfigFile.model_validate({"runbooks": {"folders": [str(runbook_dir)]}})


@pytest.fixture
def incident(make_incident: Any) -> Any:
    return make_incident("P2", "Checkout API 502s", services=["checkout"])


def the_run(runtime: Any, number: int) -> RunbookRun:
    with runtime.db.session() as session:
        runs = service.runs_of(session, number)
        assert len(runs) == 1
        return runs[0]


def step(run: RunbookRun, index: int) -> dict[str, Any]:
    return next(d for d in run.steps if d["index"] == index)


def state(runtime: Any, number: int, index: int) -> str:
    run = the_run(runtime, number)
    return next(r.state for r in run.executions if r.index == index)


def verify(console: Any, runtime: Any, number: int, run: RunbookRun) -> None:
    """Run the verification step (step 5) through the console and the engine: the run's outcome is success."""
    answer = console.hx(f"/incidents/{number}/runbook/{run.id}/steps/{step(run, 5)['id']}/run")
    assert answer.status_code == 200, answer.text
    assert Engine(runtime).run_due() == 1
    assert state(runtime, number, 5) == "succeeded"


def kinds(runtime: Any, number: int) -> list[tuple[str, str]]:
    with runtime.db.session() as session:
        return [(e.kind, e.actor) for e in timeline.events(session, number)]


# -- the incident page ----------------------------------------------------------------------------------------


def test_the_incident_page_loads_its_runbook_part(console, incident):
    page = console.get(f"/incidents/{incident.id}").text
    assert f'hx-get="/incidents/{incident.id}/runbook"' in page
    assert "htmx:sseMessage from:#timeline-events" in page, "the part reloads when the live timeline brings an event"
    assert f'href="/incidents/{incident.id}/runbook"' in page, "without JavaScript, a link to the runbook page"


def test_suggestions_are_ranked_as_runbook_match_ranks_them(console, api, incident, runbook_dir):
    write(runbook_dir, "broken.md", BROKEN)
    panel = console.get(f"/incidents/{incident.id}/runbook", headers={"HX-Request": "true"})
    assert panel.status_code == 200
    ranked = [m["runbook"]["id"] for m in api.get(f"/api/v1/incidents/{incident.id}/runbooks").json()]
    assert ranked[0] == "checkout-down" and len(ranked) >= 2
    part = panel.text.split("Suggested runbooks", 1)[1]
    shown = [part.index(f"({rid}, score") for rid in ranked]
    assert shown == sorted(shown), f"the page's order differs from the API's {ranked}"
    assert "for service checkout" in part
    # A runbook with lint errors is suggested but cannot start: no Start button for it, and the reason.
    broken = part.split("(broken, score", 1)[1].split("</li>", 1)[0]
    assert "Cannot start: lint finds" in broken and "Start</button>" not in broken
    assert "<html" not in panel.text, "htmx gets the part, not a whole page"


def test_a_started_run_shows_each_step_rendered_with_its_filled_command(console, runtime, incident):
    answer = console.hx(f"/incidents/{incident.id}/runbook/start", {"runbook": "checkout-down"})
    assert answer.status_code == 200 and "Started runbook Checkout down." in answer.text
    text = answer.text
    # The step's prose (Markdown, its markup already read by the parser), raw HTML shown as text.
    assert "<p>Look at the service first." in text
    assert "&lt;b&gt;raw html&lt;/b&gt;" in text and "<b>raw html</b>" not in text
    # The command filled from the incident (the service), exactly as it will run.
    assert str(escape("printf '%s\\n' checkout '<script>alert(1)</script>'")) in text
    # A refused placeholder: shown as written, with the reason; it runs only with a value a person gives.
    announce = text.split("echo &lt;title&gt;", 1)[1].split("</li>", 1)[0]
    assert "Cannot run: refused:" in announce and "may hold only letters" in announce
    assert "Run step 3</button>" not in announce and "Run step 3 with this value" in announce
    # The dangerous step says so; the check step can be ticked off.
    assert "Dangerous:" in text
    assert "Dashboard is green" in text and "Done</button>" in text
    assert kinds(runtime, incident.id)[-1] == ("runbook_started", "responder")


def test_a_person_gives_a_value_for_a_refused_placeholder_checked_like_the_api(console, runtime, incident):
    console.hx(f"/incidents/{incident.id}/runbook/start", {"runbook": "checkout-down"})
    run = the_run(runtime, incident.id)
    announce = step(run, 3)
    assert announce["command"] is None and announce["missing"] == ["title"]
    panel = console.get(f"/incidents/{incident.id}/runbook", headers={"HX-Request": "true"}).text
    assert 'name="value.title"' in panel and "Value for &lt;title&gt;" in panel
    url = f"/incidents/{incident.id}/runbook/{run.id}/steps/{announce['id']}/run"
    for bad, field in (({"value.title": "a; rm -rf /"}, "title"), ({"value.nope": "x"}, "params")):
        refused = console.hx(url, bad)
        assert refused.status_code == 422 and field in refused.text, bad
        assert state(runtime, incident.id, 3) == "pending"
    refused = console.hx(url)
    assert refused.status_code == 409 and "cannot run" in refused.text
    queued = console.hx(url, {"value.title": "checkout-api"})
    assert queued.status_code == 200 and "Step 3 queued: echo checkout-api" in queued.text
    assert Engine(runtime).run_due() == 1
    assert state(runtime, incident.id, 3) == "succeeded"
    assert the_run(runtime, incident.id).params["title"] == {"value": "checkout-api", "source": "given"}


def test_a_step_runs_and_its_output_arrives_escaped(console, runtime, incident):
    console.hx(f"/incidents/{incident.id}/runbook/start", {"runbook": "checkout-down"})
    run = the_run(runtime, incident.id)
    first = step(run, 1)
    answer = console.hx(f"/incidents/{incident.id}/runbook/{run.id}/steps/{first['id']}/run")
    assert answer.status_code == 200 and "queued" in answer.text
    assert Engine(runtime).run_due() == 1
    panel = console.get(f"/incidents/{incident.id}/runbook", headers={"HX-Request": "true"}).text
    output = panel.split('aria-label="Output of step 1">', 1)[1].split("</pre>", 1)[0]
    assert output == "checkout\n&lt;script&gt;alert(1)&lt;/script&gt;\n"
    assert "<script>alert(1)" not in panel
    assert "exit code 0" in panel and "succeeded" in panel


def test_a_dangerous_step_runs_only_when_the_second_form_names_its_command(console, runtime, incident):
    console.hx(f"/incidents/{incident.id}/runbook/start", {"runbook": "checkout-down"})
    run = the_run(runtime, incident.id)
    danger = step(run, 2)
    assert danger["needs_confirmation"] and danger["command"].startswith("rm -rf")
    url = f"/incidents/{incident.id}/runbook/{run.id}/steps/{danger['id']}/run"
    # The Run button answers the confirmation form, naming the command; nothing is queued yet.
    asked = console.hx(url)
    assert asked.status_code == 200
    form = asked.text.split('class="stack confirm"', 1)[1].split("</form>", 1)[0]
    assert str(escape(danger["command"])) in form
    assert f'name="confirm_command" value="{escape(danger["command"])!s}"' in form
    assert "Confirm: run rm -rf" in form
    assert state(runtime, incident.id, 2) == "pending"
    # Another command, or a bare confirm, is refused: 422 naming the field, still pending.
    for wrong in ("rm -rf /", "yes", danger["command"] + " ", danger["command"].upper()):
        refused = console.hx(url, {"confirm_command": wrong})
        assert refused.status_code == 422 and "confirm_command" in refused.text, wrong
        assert state(runtime, incident.id, 2) == "pending"
    empty = console.hx(url, {"confirm_command": ""})
    assert empty.status_code == 200 and "Confirm: run rm -rf" in empty.text, "an empty confirmation asks again"
    assert state(runtime, incident.id, 2) == "pending"
    # Without htmx too: a plain form post without the command gets the confirmation page, not a run.
    plain = console.act(url)
    assert plain.status_code == 200 and "Confirm: run rm -rf" in plain.text and "<html" in plain.text
    assert state(runtime, incident.id, 2) == "pending"
    # The exact command (as a browser sends a multi-line value: CRLF) runs it, confirmed, on the timeline.
    done = console.hx(url, {"confirm_command": danger["command"].replace("\n", "\r\n")})
    assert done.status_code == 200 and "(confirmed)" in done.text
    assert state(runtime, incident.id, 2) == "queued"
    assert ("runbook_step_confirmed", "responder") in kinds(runtime, incident.id)
    with runtime.db.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "runbook.step.run")).one()
        assert entry.actor == "responder" and entry.actor_kind == "person"
        assert entry.detail["confirmed"] is True and entry.detail["via"] == "console"


def test_checks_are_ticked_off_steps_skipped_and_the_run_finished(console, runtime, incident):
    console.hx(f"/incidents/{incident.id}/runbook/start", {"runbook": "checkout-down"})
    run = the_run(runtime, incident.id)
    check = next(d for d in run.steps if d["kind"] == "check")
    base = f"/incidents/{incident.id}/runbook/{run.id}"
    ticked = console.hx(f"{base}/steps/{check['id']}/done", {"done": "yes"})
    assert ticked.status_code == 200 and "Done by responder" in ticked.text
    assert state(runtime, incident.id, check["index"]) == "done"
    skipped = console.hx(f"{base}/steps/{step(run, 3)['id']}/skip", {"reason": "<i>no</i> announcement needed"})
    assert skipped.status_code == 200 and "&lt;i&gt;no&lt;/i&gt; announcement needed" in skipped.text
    assert state(runtime, incident.id, 3) == "skipped"
    no_reason = console.hx(f"{base}/steps/{step(run, 1)['id']}/skip", {"reason": " "})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    verify(console, runtime, incident.id, run)
    finished = console.hx(f"{base}/finish")
    assert finished.status_code == 200 and "finished: success" in finished.text
    assert "Finish this run" not in finished.text and "Run step" not in finished.text
    assert kinds(runtime, incident.id)[-1] == ("runbook_finished", "responder")


def test_without_javascript_actions_redirect_to_the_runbook_page(console, runtime, incident):
    started = console.act(f"/incidents/{incident.id}/runbook/start", {"runbook": "checkout-down"})
    assert started.status_code == 303 and started.headers["location"] == f"/incidents/{incident.id}/runbook"
    page = console.get(started.headers["location"])
    assert page.status_code == 200 and "Started runbook Checkout down." in page.text and "<html" in page.text
    unknown = console.act(f"/incidents/{incident.id}/runbook/start", {"runbook": "nope"})
    assert (
        unknown.status_code == 404 and "No runbook" in unknown.text and "text/html" in unknown.headers["content-type"]
    )


def test_a_viewer_sees_the_runbook_but_no_action_and_gets_403(console_for, runtime, incident):
    responder = console_for("responder")
    responder.hx(f"/incidents/{incident.id}/runbook/start", {"runbook": "checkout-down"})
    run = the_run(runtime, incident.id)
    viewer = console_for("viewer")
    panel = viewer.get(f"/incidents/{incident.id}/runbook", headers={"HX-Request": "true"}).text
    assert "Checkout down" in panel and "printf" in panel
    assert "<form" not in panel and "<button" not in panel
    assert "needs the responder role" in panel
    base = f"/incidents/{incident.id}/runbook"
    first, check = step(run, 1)["id"], next(d for d in run.steps if d["kind"] == "check")["id"]
    actions = [
        (f"{base}/start", {"runbook": "checkout-down"}),
        (f"{base}/{run.id}/steps/{first}/run", {}),
        (f"{base}/{run.id}/steps/{check}/done", {"done": "yes"}),
        (f"{base}/{run.id}/steps/{first}/skip", {"reason": "no"}),
        (f"{base}/{run.id}/finish", {}),
    ]
    for path, data in actions:
        answer = viewer.act(path, data)
        assert answer.status_code == 403 and "Not allowed" in answer.text, path
    after = the_run(runtime, incident.id)
    assert after.finished_at is None and all(r.state == "pending" for r in after.executions)
    with runtime.db.session() as session:
        assert len(service.runs_of(session, incident.id)) == 1


def test_actions_need_a_session_and_its_csrf_token(console_for, runtime, incident, app):
    responder = console_for("responder")
    responder.hx(f"/incidents/{incident.id}/runbook/start", {"runbook": "checkout-down"})
    run = the_run(runtime, incident.id)
    first = step(run, 1)["id"]
    base = f"/incidents/{incident.id}/runbook"
    posts = [f"{base}/start", f"{base}/{run.id}/steps/{first}/run", f"{base}/{run.id}/finish"]
    # No session, a bogus session: to the login page (pages and actions alike).
    for cookie in (None, "not-a-session"):
        anonymous = console_for(None)
        if cookie:
            anonymous.cookies.set("warroom_session", cookie)
        for path in [base, "/runbooks", "/runbooks/checkout-down"]:
            answer = anonymous.get(path, follow_redirects=False)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), (cookie, path)
        for path in posts:
            answer = anonymous.post(path, data={"runbook": "checkout-down"}, follow_redirects=False)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), (cookie, path)
    # A session without the CSRF token, or with another session's: 403, nothing changes.
    other = console_for("admin")
    for token in ("", other.csrf):
        for path in posts:
            answer = responder.post(
                path, data={"csrf_token": token, "runbook": "checkout-down"}, follow_redirects=False
            )
            assert answer.status_code == 403 and "did not come from warroom" in answer.text, (token, path)
    with runtime.db.session() as session:
        assert len(service.runs_of(session, incident.id)) == 1
    assert state(runtime, incident.id, 1) == "pending" and the_run(runtime, incident.id).finished_at is None


def test_unknown_runs_and_steps_are_404_pages(console, runtime, incident):
    console.hx(f"/incidents/{incident.id}/runbook/start", {"runbook": "checkout-down"})
    run = the_run(runtime, incident.id)
    assert console.act(f"/incidents/{incident.id}/runbook/999/finish").status_code == 404
    missing = console.act(f"/incidents/{incident.id}/runbook/{run.id}/steps/nope/run")
    assert missing.status_code == 404 and "has no step" in missing.text
    bad = console.act(f"/incidents/{incident.id}/runbook/{run.id}/steps/{'x' * 41}/run")
    assert bad.status_code == 422 and "step_id" in bad.text
    assert console.get("/incidents/999/runbook").status_code == 404


# -- the library ----------------------------------------------------------------------------------------------


def test_the_library_lists_runbooks_with_their_problems_and_effectiveness(console, runtime, incident, runbook_dir):
    write(runbook_dir, "broken.md", BROKEN)
    console.hx(f"/incidents/{incident.id}/runbook/start", {"runbook": "checkout-down"})
    run = the_run(runtime, incident.id)
    base = f"/incidents/{incident.id}/runbook/{run.id}"
    check = next(d for d in run.steps if d["kind"] == "check")
    console.hx(f"{base}/steps/{check['id']}/done", {"done": "yes"})
    verify(console, runtime, incident.id, run)
    console.hx(f"{base}/finish")
    page = console.get("/runbooks")
    assert page.status_code == 200 and 'aria-current="page"' in page.text
    rows = {r.split('href="/runbooks/', 1)[1].split('"', 1)[0]: r for r in page.text.split("<tr>")[2:]}
    assert set(rows) == {"broken", "checkout-down", "search-slow"}
    assert "2 errors" in rows["broken"] and "never closed" in rows["broken"]
    assert "100%" in rows["checkout-down"] and "(1 of 1)" in rows["checkout-down"]
    assert ">none<" in rows["search-slow"] and "<td>0</td>" in rows["search-slow"]


def test_a_runbook_page_renders_the_file_its_problems_and_figures(console, runbook_dir):
    write(
        runbook_dir,
        "xss.md",
        "---\nid: xss\ntitle: X <script>alert(1)</script>\n---\n# X\n\n<script>alert(2)</script>\n\n"
        "[link](javascript:alert(3))\n\n```bash\nrm -rf /tmp/x\n```\n",
    )
    page = console.get("/runbooks/checkout-down")
    assert page.status_code == 200
    assert "<h2>Diagnosis</h2>" in page.text and "<strong>service</strong>" in page.text
    assert "id: checkout-down" not in page.text, "the front matter is shown as facts, not as text"
    assert "Not used yet." in page.text
    xss = console.get("/runbooks/xss").text
    assert "<script>alert" not in xss and "&lt;script&gt;alert(2)&lt;/script&gt;" in xss
    assert "X &lt;script&gt;alert(1)&lt;/script&gt;" in xss
    assert 'href="javascript:' not in xss
    assert "warning" in xss and "confirm" in xss, "rm -rf without {confirm} is a lint warning, shown"
    missing = console.get("/runbooks/nope")
    assert (
        missing.status_code == 404 and "No runbook" in missing.text and "text/html" in missing.headers["content-type"]
    )
    assert console.get("/runbooks/..%2F..%2Fetc%2Fpasswd").status_code == 404
