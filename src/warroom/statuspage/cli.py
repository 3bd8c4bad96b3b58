"""`warroom component ...`, `warroom incident publish` and `warroom maintenance announce|announced|withdraw`:
clients of the status page API. (`warroom incident update --public ...` is the incident command's.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from warroom.alerts.cli import maintenance_app
from warroom.client import ApiClient
from warroom.cliutil import console, fail, handle_errors, print_json, table, when
from warroom.incidents.cli import app as incident_app
from warroom.timeparse import parse_duration

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
STATUSES = "operational, degraded_performance, partial_outage, major_outage, under_maintenance"

component_app = typer.Typer(
    help="Status page components: what your users see, and the services each stands for.", no_args_is_help=True
)


def _out(line: str) -> None:
    console.print(line, markup=False, highlight=False)


def _split(values: list[str] | None) -> list[str]:
    """Repeatable options that also take comma lists: `--components a,b --components c`."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _component_line(item: dict[str, Any]) -> str:
    override = f" (override by {item['override_by']}: {item['override_reason']})" if item["override_status"] else ""
    return f"{item['name']}: {item['status']}{override}"


# -- components -----------------------------------------------------------------------------------------------


@component_app.command("add")
@handle_errors
def component_add(
    name: str,
    service: Annotated[
        list[str] | None, typer.Option("--service", help="A service it stands for (repeatable).")
    ] = None,
    group: Annotated[str | None, typer.Option("--group", help="The group it is shown in.")] = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Add a component to the status page."""
    body: dict[str, Any] = {"name": name, "services": _split(service), "description": description}
    if group:
        body["group"] = group
    item = ApiClient().post("/api/v1/status/components", body)
    if as_json:
        print_json(item)
    else:
        _out(f"component {item['name']} added ({', '.join(item['services']) or 'no services'})")


@component_app.command("list")
@handle_errors
def component_list(as_json: JsonOpt = False) -> None:
    """List components in display order with their status now."""
    items = ApiClient().get("/api/v1/status/components")
    if as_json:
        print_json(items)
        return
    table(
        None,
        ["name", "status", "group", "services", "override"],
        [
            [
                i["name"],
                i["status"],
                i["group"],
                ", ".join(i["services"]),
                f"{i['override_status']} ({i['override_reason']})" if i["override_status"] else None,
            ]
            for i in items
        ],
    )


@component_app.command("show")
@handle_errors
def component_show(name: str, as_json: JsonOpt = False) -> None:
    """Show a component: its status now, services, group and override."""
    item = ApiClient().get(f"/api/v1/status/components/{_path(name)}")
    if as_json:
        print_json(item)
        return
    _out(_component_line(item))
    _out(f"  id: {item['id']}  group: {item['group'] or '-'}  services: {', '.join(item['services']) or '-'}")
    if item["description"]:
        _out(f"  {item['description']}")


@component_app.command("set")
@handle_errors
def component_set(
    name: str,
    status: Annotated[str | None, typer.Option("--status", help=f"One of {STATUSES}.")] = None,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (required to override).")] = "",
    clear: Annotated[bool, typer.Option("--clear", help="Remove the override: the status is derived again.")] = False,
    incident: Annotated[
        int | None, typer.Option("--incident", help="Record it on this incident's timeline (else the audit log).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Override a component's status with a reason (until `--clear`)."""
    if clear == (status is not None):
        fail("give --status with --reason, or --clear", code=2)
    body: dict[str, Any] = {"status": None if clear else status, "reason": reason, "incident": incident}
    item = ApiClient().post(f"/api/v1/status/components/{_path(name)}/override", body)
    if as_json:
        print_json(item)
    else:
        _out(_component_line(item))


@component_app.command("remove")
@handle_errors
def component_remove(name: str) -> None:
    """Delete a component (refused while an open public incident affects it; resolved ones forget it)."""
    ApiClient().request("DELETE", f"/api/v1/status/components/{_path(name)}")
    _out(f"component {name} removed")


def _path(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


# -- publishing -----------------------------------------------------------------------------------------------


@incident_app.command("publish")
@handle_errors
def incident_publish(
    number: int,
    title: Annotated[str, typer.Option("--title", "-t", help="The public title (never the internal one).")],
    components: Annotated[
        list[str] | None, typer.Option("--components", "-c", help="Affected components (repeatable or a,b).")
    ] = None,
    public: Annotated[
        str | None, typer.Option("--public", help="The first public text (default: the investigating template).")
    ] = None,
    impact: Annotated[str | None, typer.Option("--impact", help="none, minor, major or critical.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish the incident on the status page: a public title and the affected components."""
    body: dict[str, Any] = {"title": title, "components": _split(components)}
    if public is not None:
        body["body"] = public
    if impact is not None:
        body["impact"] = impact
    item = ApiClient().post(f"/api/v1/incidents/{number}/publish", body)
    if as_json:
        print_json(item)
        return
    _out(f"#{number} published as {item['id']}: {item['title']} ({', '.join(item['components']) or 'no components'})")
    if item["updates"]:
        _out(f"  {item['updates'][0]['status']}: {item['updates'][0]['body']}")


# -- announced maintenance ------------------------------------------------------------------------------------


def _at(text: str, field: str) -> str:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{field}: give an ISO time such as 2026-12-24T02:00:00+00:00", code=2)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


@maintenance_app.command("announce")
@handle_errors
def maintenance_announce(
    title: Annotated[str, typer.Option("--title", "-t", help="What your users see.")],
    components: Annotated[list[str], typer.Option("--components", "-c", help="Components under maintenance.")],
    start: Annotated[str | None, typer.Option("--start", help="ISO time (default now).")] = None,
    starts_in: Annotated[str | None, typer.Option("--starts-in", help="e.g. 2h from now (instead of --start).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="ISO time.")] = None,
    duration: Annotated[str | None, typer.Option("--duration", "-d", help="e.g. 2h (instead of --end).")] = None,
    text: Annotated[str | None, typer.Option("--text", help="The public text (default: the template).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Announce maintenance on the status page; its services' alerts are held back while it runs."""
    if (end is None) == (duration is None):
        fail("give --end or --duration", code=2)
    if start is not None and starts_in is not None:
        fail("give --start or --starts-in, not both", code=2)
    now = datetime.now(UTC)
    try:
        begins = datetime.fromisoformat(_at(start, "--start")) if start else now + parse_duration(starts_in or "0s")
        ends = datetime.fromisoformat(_at(end, "--end")) if end else begins + parse_duration(duration or "0s")
    except ValueError as exc:
        fail(str(exc), code=2)
    body: dict[str, Any] = {
        "title": title,
        "components": _split(components),
        "starts_at": begins.isoformat(),
        "ends_at": ends.isoformat(),
    }
    if text is not None:
        body["body"] = text
    item = ApiClient().post("/api/v1/status/maintenance", body)
    if as_json:
        print_json(item)
    else:
        span = f"{when(item['starts_at'])} → {when(item['ends_at'])}"
        _out(f"maintenance {item['id']} announced ({', '.join(item['components'])}): {span}, {item['status']}")


@maintenance_app.command("announced")
@handle_errors
def maintenance_announced(
    include_past: Annotated[bool, typer.Option("--all", help="Include completed and cancelled.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List announced maintenance (the status page's), soonest first."""
    items = ApiClient().get("/api/v1/status/maintenance", include_past=include_past)
    if as_json:
        print_json(items)
        return
    table(
        None,
        ["id", "status", "title", "components", "starts", "ends", "alert windows"],
        [
            [
                i["id"],
                "cancelled" if i["cancelled_at"] else i["status"],
                i["title"],
                ", ".join(i["components"]),
                when(i["starts_at"]),
                when(i["ends_at"]),
                ", ".join(str(w) for w in i["windows"]),
            ]
            for i in items
        ],
    )


@maintenance_app.command("withdraw")
@handle_errors
def maintenance_withdraw(public_id: str, as_json: JsonOpt = False) -> None:
    """Cancel announced maintenance: it leaves the page and its alert windows end now."""
    item = ApiClient().post(f"/api/v1/status/maintenance/{_path(public_id)}/cancel")
    if as_json:
        print_json(item)
    else:
        _out(f"maintenance {item['id']} withdrawn")
