"""`warroom incident ...`: a client of the incidents API."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.text import Text

from warroom.client import ApiClient
from warroom.cliutil import console, handle_errors, parse_pairs, print_json, table, when
from warroom.timeparse import format_duration

app = typer.Typer(help="Declare, acknowledge, update and resolve incidents.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


# Timeline events about paging that `incident declare` repeats under its one-line summary.
PAGING_NEWS = ("paging_started", "paging_skipped", "paging_error")


def _summary(incident: dict[str, Any]) -> None:
    console.print(
        f"#{incident['number']} [{incident['severity']}] {'DRILL ' if incident.get('drill') else ''}"
        f"{incident['title']} — {incident['status']}",
        markup=False,
        highlight=False,
    )


def _show(incident: dict[str, Any]) -> None:
    fields = [
        ("Number", f"#{incident['number']}"),
        ("Title", incident["title"]),
        ("Severity", incident["severity"]),
        ("Status", incident["status"] + ("  (DRILL: a rehearsal)" if incident.get("drill") else "")),
        ("Services", ", ".join(incident["services"]) or "-"),
        ("Commander", incident["commander"] or "-"),
        ("Declared by", incident["created_by"]),
        ("Started", when(incident["started_at"])),
        ("Detected", when(incident["detected_at"])),
        ("Acknowledged", when(incident["acknowledged_at"])),
        ("Resolved", when(incident["resolved_at"])),
        ("Impact", incident["impact"] or "-"),
        ("Labels", ", ".join(f"{k}={v}" for k, v in incident["labels"].items()) or "-"),
    ]
    body = "\n".join(f"[bold]{name}:[/bold] {value}" for name, value in fields)
    if incident["description"]:
        body += f"\n\n{incident['description']}"
    console.print(Panel(body, title=f"Incident #{incident['number']}", expand=False))
    rows = []
    for measure in incident["durations"]:
        took = measure["seconds"]
        left = measure["remaining_seconds"]
        rows.append(
            [
                measure["name"],
                format_duration(took) if took is not None else "-",
                format_duration(measure["target_seconds"]),
                measure["state"],
                format_duration(left) if left is not None else "-",
            ]
        )
    table("Durations", ["measure", "took", "target", "state", "left"], rows)
    table(
        "Timeline",
        ["at", "kind", "by", "message"],
        [[when(e["at"]), e["kind"], e["actor"], e["message"]] for e in incident["timeline"]],
    )


@app.command("declare")
@handle_errors
def declare(
    title: Annotated[str, typer.Option("--title", "-t", help="What is wrong, in a line.")],
    severity: Annotated[str, typer.Option("--severity", "-s", help="P0 (worst) to P4.")],
    service: Annotated[list[str] | None, typer.Option("--service", help="Affected service (repeatable).")] = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    impact: Annotated[str, typer.Option("--impact")] = "",
    commander: Annotated[str | None, typer.Option("--commander")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="key=value (repeatable).")] = None,
    started_at: Annotated[str | None, typer.Option("--started-at", help="ISO time the problem began.")] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Escalation policy to page with.")] = None,
    category: Annotated[str | None, typer.Option("--category", help="e.g. database, security.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Declare a new incident."""
    body: dict[str, Any] = {
        "policy": policy,
        "category": category,
        "title": title,
        "severity": severity,
        "services": service or [],
        "description": description,
        "impact": impact,
        "commander": commander,
        "labels": parse_pairs(label, "label"),
    }
    if started_at:
        body["started_at"] = started_at
    incident = ApiClient().post("/api/v1/incidents", body)
    if as_json:
        print_json(incident)
        return
    _summary(incident)
    # Who was (not) paged is the first thing the declarer needs to know.
    for event in incident.get("timeline", []):
        if event["kind"] in PAGING_NEWS:
            console.print(f"  {event['message']}", markup=False, highlight=False)


@app.command("list")
@handle_errors
def list_(
    status: Annotated[str | None, typer.Option(help="Comma list; `open` = not resolved.")] = None,
    severity: Annotated[str | None, typer.Option(help="Comma list, e.g. P0,P1.")] = None,
    service: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(help="At most this many (newest first).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List incidents, newest first."""
    page = ApiClient().get("/api/v1/incidents", status=status, severity=severity, service=service, limit=limit)
    if as_json:
        print_json(page["items"])
        return
    table(
        None,
        ["#", "sev", "status", "title", "services", "commander", "detected"],
        [
            [
                i["number"],
                i["severity"],
                i["status"],
                f"DRILL {i['title']}" if i.get("drill") else i["title"],
                ", ".join(i["services"]),
                i["commander"],
                when(i["detected_at"]),
            ]
            for i in page["items"]
        ],
    )


@app.command("show")
@handle_errors
def show(number: int, as_json: JsonOpt = False) -> None:
    """Show an incident: fields, durations against targets, the whole timeline."""
    incident = ApiClient().get(f"/api/v1/incidents/{number}")
    if as_json:
        print_json(incident)
    else:
        _show(incident)


def _act(number: int, action: str, message: str, as_json: bool) -> None:
    incident = ApiClient().post(f"/api/v1/incidents/{number}/{action}", {"message": message})
    if as_json:
        print_json(incident)
    else:
        _summary(incident)


@app.command("ack")
@handle_errors
def ack(number: int, message: Annotated[str, typer.Option("--message", "-m")] = "", as_json: JsonOpt = False) -> None:
    """Acknowledge: you are on it (stops escalation)."""
    _act(number, "acknowledge", message, as_json)


@app.command("resolve")
@handle_errors
def resolve(
    number: int, message: Annotated[str, typer.Option("--message", "-m")] = "", as_json: JsonOpt = False
) -> None:
    """Resolve an incident."""
    _act(number, "resolve", message, as_json)


@app.command("reopen")
@handle_errors
def reopen(
    number: int, message: Annotated[str, typer.Option("--message", "-m")] = "", as_json: JsonOpt = False
) -> None:
    """Reopen a resolved incident."""
    _act(number, "reopen", message, as_json)


@app.command("note")
@handle_errors
def note(number: int, message: str, as_json: JsonOpt = False) -> None:
    """Add a note to the timeline."""
    event = ApiClient().post(f"/api/v1/incidents/{number}/notes", {"message": message})
    if as_json:
        print_json(event)
    else:
        console.print(f"noted on #{number}", highlight=False)


@app.command("update")
@handle_errors
def update(
    number: int,
    status: Annotated[str | None, typer.Option(help="investigating, identified, monitoring, resolved ...")] = None,
    message: Annotated[str | None, typer.Option("--message", "-m", help="The status update text.")] = None,
    severity: Annotated[str | None, typer.Option()] = None,
    commander: Annotated[str | None, typer.Option()] = None,
    title: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    impact: Annotated[str | None, typer.Option()] = None,
    service: Annotated[list[str] | None, typer.Option("--service", help="Replaces the services.")] = None,
    public: Annotated[
        str | None, typer.Option("--public", help="Post this text as a public status update (published incidents).")
    ] = None,
    use_template: Annotated[
        bool, typer.Option("--use-template", help="Post the status's default public text (you confirm it).")
    ] = False,
    actions: Annotated[str | None, typer.Option("--actions", help="What is being done (internal message).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the public text and the internal message; post nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Change the status (with a message), severity, commander, title ...; with --public (or --use-template)
    also tell your users: one public update to the status page, subscribers and the incident's channels."""
    if public is not None or use_template or dry_run or actions is not None:
        _public_update(number, status, public, use_template, actions, dry_run, message, as_json)
        if not any(v is not None for v in (severity, commander, title, description, impact, service)):
            return
        status = None
    body = {
        k: v
        for k, v in {
            "status": status,
            "message": message,
            "severity": severity,
            "commander": commander,
            "title": title,
            "description": description,
            "impact": impact,
            "services": service,
        }.items()
        if v is not None
    }
    if not body:
        raise typer.BadParameter("nothing to change: pass --status, --message, --public, --severity, --commander ...")
    incident = ApiClient().patch(f"/api/v1/incidents/{number}", body)
    if as_json:
        print_json(incident)
    else:
        _summary(incident)


def _public_update(
    number: int,
    status: str | None,
    public: str | None,
    use_template: bool,
    actions: str | None,
    dry_run: bool,
    message: str | None,
    as_json: bool,
) -> None:
    if message is not None:
        raise typer.BadParameter("--message is the internal status message; with --public give the public text only")
    body: dict[str, Any] = {"use_template": use_template, "dry_run": dry_run}
    for key, value in (("status", status), ("body", public), ("actions", actions)):
        if value is not None:
            body[key] = value
    result = ApiClient().post(f"/api/v1/incidents/{number}/public-updates", body)
    if as_json:
        print_json(result)
        return
    if dry_run:
        console.print(Panel(Text(result["public_text"]), title="Public update (not posted)", expand=False))
        console.print(Panel(Text(result["internal_message"]), title="Internal message (not posted)", expand=False))
        return
    next_at = f"; next update due {when(result['next_update_at'])}" if result["next_update_at"] else ""
    console.print(f"#{number} public update posted: {result['status']}{next_at}", markup=False, highlight=False)
