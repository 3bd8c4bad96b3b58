"""Console pages of runbooks: an incident's runbook (suggestions, runs, steps run and checked off) and the library.

Each action is a form calling the same service function as the API (runbooks/service.py), audited under the
person's name with the API's action names. htmx posts it and swaps the runbook part back in; without JavaScript
it posts and redirects to the incident's runbook page. A dangerous step runs only from a second form that
carries the exact command it will run: the server compares it, the button alone is not enough."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request, Response
from fastapi import Path as PathParam
from sqlalchemy.orm import Session

from warroom.deps import PathId, ReadSession, RuntimeDep, WriteSession
from warroom.errors import InvalidInput
from warroom.incidents import service as incidents
from warroom.runbooks import service
from warroom.runbooks.models import RunbookRun
from warroom.runbooks.setup import cache_of, default_timeout
from warroom.runtime import Runtime
from warroom.web.actions import Entry, act, back
from warroom.web.errors import console_router
from warroom.web.runbook_view import library, panel, prose, runbook_page
from warroom.web.session import Person, RespondingPerson, Visit
from warroom.web.templating import NAV_ITEMS, env, render

router = console_router()

NAV_ITEMS.append(("runbooks", "Runbooks", "/runbooks"))
env.filters["prose"] = prose

StepId = Annotated[str, PathParam(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
RunbookName = Annotated[str, PathParam(min_length=1, max_length=200)]
Long = Annotated[str, Form(max_length=10_000)]


VALUE_PREFIX = "value."  # a form field `value.NAME` gives a value for the unfilled placeholder <NAME>
MAX_VALUES = 20


async def given_values(request: Request) -> dict[str, str]:
    """Values a person typed for a step's unfilled placeholders (form fields `value.NAME`, empty ones ignored);
    the service checks each against its pattern and refuses names the step does not leave unfilled."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return {}
    form = await request.form()
    values: dict[str, str] = {}
    for key, value in form.multi_items():
        if not key.startswith(VALUE_PREFIX) or not isinstance(value, str) or not value.strip():
            continue
        name = key[len(VALUE_PREFIX) :]
        if not name or len(name) > 100 or len(value) > 1000:
            raise InvalidInput(f"A placeholder value is too long or unnamed: {key[:120]!r}.", field=key[:120])
        values[name] = value.strip()
    if len(values) > MAX_VALUES:
        raise InvalidInput(f"At most {MAX_VALUES} placeholder values at once.", field="value")
    return values


Given = Annotated[dict[str, str], Depends(given_values)]


def _runbook_url(number: int) -> str:
    return f"/incidents/{number}/runbook"


def _show(
    request: Request,
    session: Session,
    runtime: Runtime,
    number: int,
    *,
    message: str = "",
    confirming: tuple[int, str] | None = None,
) -> Response:
    """The incident's runbook part (htmx) or its own page (a browser without JavaScript)."""
    view = panel(session, runtime, number, confirming=confirming)
    context = {"nav": "incidents", "rb": view, "done": message}
    if request.headers.get("hx-request") == "true":
        return render(request, "runbooks/panel.html", context)
    return render(request, "runbooks/incident.html", context)


def _done(
    request: Request,
    session: Session,
    runtime: Runtime,
    visit: Visit,
    run: RunbookRun,
    action: str,
    message: str,
    detail: dict[str, Any],
) -> Response:
    """Audit and commit an action, then show the runbook part again (htmx) or redirect to the runbook page."""
    number = run.incident_id
    detail = {"incident": run.incident_id, "runbook": run.runbook_id, **detail, "via": "console"}
    entry = Entry(action, f"runbook-run:{run.id}", detail)

    def show(said: str) -> Response:
        if request.headers.get("hx-request") == "true":
            return _show(request, session, runtime, number, message=said)
        return back(_runbook_url(number), said)

    return act(session, visit, runtime.clock.now(), lambda: (entry, message), show)


@router.get("/incidents/{number}/runbook")
def incident_runbook(
    number: PathId, request: Request, visit: Person, session: ReadSession, runtime: RuntimeDep
) -> Response:
    """The incident's suggested runbooks, best first, and its runs with each step, its command and output."""
    return _show(request, session, runtime, number)


@router.post("/incidents/{number}/runbook/start")
def start_run(
    number: PathId,
    request: Request,
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    runbook: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Start a runbook on the incident: its steps are planned, filled from the incident and frozen now."""
    if not runbook.strip():
        raise InvalidInput("Choose a runbook to start.", field="runbook")
    incident = incidents.get_for_update(session, number)
    cache = cache_of(runtime)
    chosen = cache.find(runbook.strip())
    run = service.start_run(
        session,
        incident,
        chosen,
        actor=visit.actor,
        now=runtime.clock.now(),
        default_timeout=default_timeout(runtime),
        digest=cache.digest(chosen),
    )
    session.flush()
    return _done(
        request,
        session,
        runtime,
        visit,
        run,
        "runbook.run.start",
        f"Started runbook {run.title}.",
        {"params": [], "path": run.path},
    )


@router.post("/incidents/{number}/runbook/{run_id}/steps/{step_id}/run")
def run_step(
    number: PathId,
    run_id: PathId,
    step_id: StepId,
    request: Request,
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    values: Given,
    confirm_command: Annotated[str | None, Form(max_length=100_000)] = None,
) -> Response:
    """Queue a command step for the engine. A step that needs confirmation first answers the confirmation form,
    which names the command; it runs only when the form sends that exact command back. `value.NAME` fields fill
    placeholders left unfilled when the run started (checked against their pattern, as the API's `params`)."""
    run = service.get_run(session, number, run_id, for_update=True)
    data = service.snapshot_step(run, step_id)
    confirm = False
    if data.get("needs_confirmation") and data.get("command") is not None:
        if confirm_command is None:
            session.rollback()
            return _show(request, session, runtime, number, confirming=(run_id, step_id))
        if confirm_command.replace("\r\n", "\n") != data["command"]:
            raise InvalidInput(
                f"The confirmation does not name the command step {data['index']} runs: confirm `{data['command']}`.",
                field="confirm_command",
            )
        confirm = True
    record = service.request_run(
        session, run, step_id, actor=visit.actor, now=runtime.clock.now(), confirm=confirm, params=values
    )
    said = f"Step {record.index} queued: {record.command}" + (" (confirmed)" if record.confirmed else "")
    detail: dict[str, Any] = {
        "step": step_id,
        "command": record.command,
        "confirmed": record.confirmed,
        "params": sorted(values),
    }
    return _done(request, session, runtime, visit, run, "runbook.step.run", said, detail)


@router.post("/incidents/{number}/runbook/{run_id}/steps/{step_id}/done")
def done_step(
    number: PathId,
    run_id: PathId,
    step_id: StepId,
    request: Request,
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    done: Annotated[str, Form(max_length=10)] = "yes",
    comment: Long = "",
) -> Response:
    """Tick off a manual or check step: done (`yes`) or not done (`no`), with an optional comment."""
    answer = done.strip().lower()
    if answer not in ("yes", "no"):
        raise InvalidInput("done is yes or no.", field="done")
    run = service.get_run(session, number, run_id, for_update=True)
    record = service.mark_done(
        session, run, step_id, actor=visit.actor, now=runtime.clock.now(), done=answer == "yes", comment=comment
    )
    said = f"Step {record.index} {'done' if answer == 'yes' else 'not done'}."
    return _done(
        request, session, runtime, visit, run, "runbook.step.done", said, {"step": step_id, "done": answer == "yes"}
    )


@router.post("/incidents/{number}/runbook/{run_id}/steps/{step_id}/skip")
def skip_step(
    number: PathId,
    run_id: PathId,
    step_id: StepId,
    request: Request,
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    reason: Long = "",
) -> Response:
    """Skip a step, saying why."""
    run = service.get_run(session, number, run_id, for_update=True)
    record = service.skip_step(session, run, step_id, actor=visit.actor, now=runtime.clock.now(), reason=reason)
    detail = {"step": step_id, "reason": reason.strip()}
    return _done(request, session, runtime, visit, run, "runbook.step.skip", f"Step {record.index} skipped.", detail)


@router.post("/incidents/{number}/runbook/{run_id}/finish")
def finish_run(
    number: PathId,
    run_id: PathId,
    request: Request,
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    comment: Long = "",
) -> Response:
    """Finish the run; its outcome is success when every verification step passed."""
    run = service.get_run(session, number, run_id, for_update=True)
    service.finish_run(session, run, actor=visit.actor, now=runtime.clock.now(), comment=comment)
    said = f"Runbook {run.title} finished: {run.outcome}."
    return _done(request, session, runtime, visit, run, "runbook.run.finish", said, {"outcome": run.outcome})


@router.get("/runbooks")
def library_page(request: Request, visit: Person, session: ReadSession, runtime: RuntimeDep) -> Response:
    """The runbook library: each runbook with its lint problems and how it has served."""
    return render(request, "runbooks/library.html", {"nav": "runbooks", "lib": library(session, runtime)})


@router.get("/runbooks/{name}")
def runbook_detail(
    name: RunbookName, request: Request, visit: Person, session: ReadSession, runtime: RuntimeDep
) -> Response:
    """One runbook rendered, with its lint problems and effectiveness."""
    return render(request, "runbooks/runbook.html", {"nav": "runbooks", "page": runbook_page(session, runtime, name)})
