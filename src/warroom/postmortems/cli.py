"""`warroom postmortem ...` and `warroom action ...`: clients of the postmortems API."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from warroom.client import ApiClient
from warroom.cliutil import CliError, console, fail, handle_errors, print_json, table, when

postmortem_app = typer.Typer(help="Post-mortems drafted from the incident's record.", no_args_is_help=True)
action_app = typer.Typer(help="Action items: follow-ups with an owner and a due date.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _summary(pm: dict[str, Any]) -> None:
    console.print(
        f"post-mortem #{pm['incident']} [{pm['severity']}] {pm['title']} — {pm['state']}, version {pm['version']}",
        markup=False,
        highlight=False,
    )


@postmortem_app.command("draft")
@handle_errors
def draft(number: int, as_json: JsonOpt = False) -> None:
    """Draft the incident's post-mortem from the template, prefilled from its record."""
    pm = ApiClient().post(f"/api/v1/incidents/{number}/postmortem")
    if as_json:
        print_json(pm)
    else:
        _summary(pm)


@postmortem_app.command("show")
@handle_errors
def show(number: int, as_json: JsonOpt = False) -> None:
    """Print the post-mortem as Markdown with YAML front matter."""
    client = ApiClient()
    if as_json:
        print_json(client.get(f"/api/v1/postmortems/{number}"))
        return
    typer.echo(client.request("GET", f"/api/v1/postmortems/{number}/export").text, nl=False)


@postmortem_app.command("export")
@handle_errors
def export(
    number: int,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")] = None,
) -> None:
    """Export the post-mortem (Markdown with YAML front matter), to keep it in git."""
    text = ApiClient().request("GET", f"/api/v1/postmortems/{number}/export").text
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {output}", markup=False, highlight=False)


def _editor() -> list[str]:
    # Split like a shell would, but never run through one: $EDITOR is a program and its arguments.
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        words = shlex.split(command)
    except ValueError as exc:
        fail(f"cannot read $EDITOR ({exc}); set it to a program, e.g. EDITOR='nano'", code=2)
    if not words:
        fail("$EDITOR is empty; set it to a program, e.g. EDITOR='nano'", code=2)
    return words


@postmortem_app.command("edit")
@handle_errors
def edit(
    number: int,
    summary: Annotated[str, typer.Option("--summary", "-m", help="What you changed, in a line.")] = "",
) -> None:
    """Open the post-mortem in $EDITOR; save a new version if you changed it (action items follow)."""
    client = ApiClient()
    pm = client.get(f"/api/v1/postmortems/{number}")
    with tempfile.TemporaryDirectory(prefix="warroom-pm-") as folder:
        path = Path(folder) / f"postmortem-{number}.md"
        path.write_text(pm["body"], encoding="utf-8")
        try:
            finished = subprocess.run([*_editor(), str(path)], check=False)  # no shell: argv
        except OSError as exc:
            fail(f"cannot start the editor: {exc.strerror or exc}", code=1)
        if finished.returncode != 0:
            fail(f"the editor exited with {finished.returncode}: nothing saved")
        text = path.read_text(encoding="utf-8")
    if text == pm["body"]:
        console.print("no change: nothing saved", highlight=False)
        return
    body = {"body": text, "version": pm["version"], "summary": summary}
    try:
        updated = client._json(client.request("PUT", f"/api/v1/postmortems/{number}", json=body))
    except CliError as exc:
        # Nothing lost: the edited text is kept in the current folder for the user to apply again.
        kept = Path(f"postmortem-{number}.v{pm['version']}.edited.md").resolve()
        kept.write_text(text, encoding="utf-8")
        fail(f"{exc.message} Your text is kept in {kept}.")
    _summary(updated)


@postmortem_app.command("state")
@handle_errors
def state(
    number: int,
    to: Annotated[str, typer.Argument(help="draft, in_review or published.")],
    as_json: JsonOpt = False,
) -> None:
    """Move the post-mortem: draft → in_review → published (publishing stops its reminders)."""
    pm = ApiClient().post(f"/api/v1/postmortems/{number}/state", {"state": to})
    if as_json:
        print_json(pm)
    else:
        _summary(pm)


@postmortem_app.command("reopen")
@handle_errors
def reopen(number: int, as_json: JsonOpt = False) -> None:
    """Bring a published post-mortem back to draft (admins)."""
    pm = ApiClient().post(f"/api/v1/postmortems/{number}/reopen")
    if as_json:
        print_json(pm)
    else:
        _summary(pm)


@postmortem_app.command("versions")
@handle_errors
def versions(number: int, as_json: JsonOpt = False) -> None:
    """List the versions: who saved each, when, and why."""
    rows = ApiClient().get(f"/api/v1/postmortems/{number}/versions")
    if as_json:
        print_json(rows)
        return
    table(
        None,
        ["version", "by", "at", "summary"],
        [[v["number"], v["author"], when(v["created_at"]), v["summary"]] for v in rows],
    )


@postmortem_app.command("diff")
@handle_errors
def diff(
    number: int,
    old: Annotated[int | None, typer.Option("--from", help="Older version (default: the one before --to).")] = None,
    new: Annotated[int | None, typer.Option("--to", help="Newer version (default: the current one).")] = None,
) -> None:
    """Show what changed between two versions (a unified diff)."""
    found = ApiClient().get(f"/api/v1/postmortems/{number}/diff", **{"from": old, "to": new})
    typer.echo(found["diff"] or f"versions {found['from_version']} and {found['to_version']} are the same", nl=False)


@postmortem_app.command("list")
@handle_errors
def list_(
    state_: Annotated[str | None, typer.Option("--state", help="draft, in_review or published.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only required ones past their due time.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List post-mortems (and, with --overdue, required ones not drafted in time)."""
    rows = ApiClient().get("/api/v1/postmortems", state=state_, overdue=overdue or None)
    if as_json:
        print_json(rows)
        return
    table(
        None,
        ["#", "sev", "state", "version", "due", "title"],
        [
            [
                r["incident"],
                r["severity"],
                (r["state"] or "not drafted") + (" (overdue)" if r["overdue"] else ""),
                r["version"] or "-",
                when(r["due_at"]),
                r["title"],
            ]
            for r in rows
        ],
    )


def _items(rows: list[dict[str, Any]]) -> None:
    table(
        None,
        ["id", "#", "status", "owner", "due", "text"],
        [
            [
                r["id"],
                r["incident"],
                r["status"] + (" (overdue)" if r["overdue"] else ""),
                r["owner"] or "-",
                r["due"] or "-",
                r["text"],
            ]
            for r in rows
        ],
    )


@action_app.command("add")
@handle_errors
def action_add(
    incident: Annotated[int, typer.Argument(help="The incident the item comes from.")],
    text: Annotated[str, typer.Argument(help="What to do.")],
    owner: Annotated[str | None, typer.Option("--owner", help="An on-call user.")] = None,
    due: Annotated[str | None, typer.Option("--due", help="YYYY-MM-DD.")] = None,
    ticket: Annotated[str | None, typer.Option("--ticket", help="http(s) link to the ticket.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an action item (its post-mortem's checklist gains the line)."""
    item = ApiClient().post(
        "/api/v1/action-items", {"incident": incident, "text": text, "owner": owner, "due": due, "ticket_url": ticket}
    )
    if as_json:
        print_json(item)
    else:
        console.print(f"action item {item['id']} added to #{item['incident']}", highlight=False)


@action_app.command("list")
@handle_errors
def action_list(
    owner: Annotated[str | None, typer.Option("--owner")] = None,
    status: Annotated[str | None, typer.Option("--status", help="open, done or wont_do.")] = None,
    incident: Annotated[int | None, typer.Option("--incident")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open items past their due date.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List action items, soonest due first."""
    rows = ApiClient().get(
        "/api/v1/action-items", owner=owner, status=status, incident=incident, overdue=overdue or None
    )
    if as_json:
        print_json(rows)
    else:
        _items(rows)


@action_app.command("done")
@handle_errors
def action_done(
    item_id: int,
    wont_do: Annotated[bool, typer.Option("--wont-do", help="Close it as won't do instead.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Close an action item (its box is ticked in the post-mortem, as a new version)."""
    item = ApiClient().patch(f"/api/v1/action-items/{item_id}", {"status": "wont_do" if wont_do else "done"})
    if as_json:
        print_json(item)
    else:
        console.print(f"action item {item['id']} is {item['status']}", highlight=False)
