"""`warroom user|team|oncall|policy ...`, `warroom incident escalate` and `warroom config export`: API clients."""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from warroom.client import ApiClient
from warroom.cliutil import console, fail, handle_errors, print_json, table, when
from warroom.incidents.cli import app as incident_app

user_app = typer.Typer(help="People who can be paged, their contact methods and rules.", no_args_is_help=True)
team_app = typer.Typer(help="Teams: members, channel, default escalation policy.", no_args_is_help=True)
oncall_app = typer.Typer(help="Schedules: who is on call, shifts, overrides, calendars.", no_args_is_help=True)
policy_app = typer.Typer(help="Escalation policies.", no_args_is_help=True)

DOCS = "docs/oncall.md"  # where an empty answer points people to
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


# -- users -------------------------------------------------------------------------------------------------------


def _user_line(user: dict[str, Any]) -> None:
    methods = ", ".join(c["label"] for c in user["contacts"]) or "no contact method"
    console.print(f"{user['id']} ({user['name'] or '-'}, {user['timezone']}): {methods}", markup=False)


@user_app.command("add")
@handle_errors
def user_add(
    user_id: Annotated[str, typer.Argument(help="Short id, e.g. alice.")],
    name: Annotated[str, typer.Option("--name", help="Full name.")] = "",
    email: Annotated[str | None, typer.Option("--email")] = None,
    timezone: Annotated[str, typer.Option("--timezone", help="IANA zone, e.g. Europe/Berlin.")] = "UTC",
    contact: Annotated[
        list[str] | None, typer.Option("--contact", help="Apprise URL, optionally label=URL (repeatable).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a person who can be paged."""
    contacts: list[Any] = []
    for item in contact or []:
        label, sep, url = item.partition("=")
        contacts.append({"label": label, "url": url} if sep and "://" not in label else item)
    user = ApiClient().post(
        "/api/v1/users",
        {"id": user_id, "name": name, "email": email, "timezone": timezone, "contacts": contacts},
    )
    print_json(user) if as_json else _user_line(user)


@user_app.command("list")
@handle_errors
def user_list(as_json: JsonOpt = False) -> None:
    """List people."""
    users = ApiClient().get("/api/v1/users")
    if as_json:
        print_json(users)
        return
    table(
        None,
        ["id", "name", "email", "timezone", "contacts", "from"],
        [
            [u["id"], u["name"], u["email"], u["timezone"], ", ".join(c["label"] for c in u["contacts"]), u["source"]]
            for u in users
        ],
    )


@user_app.command("show")
@handle_errors
def user_show(user_id: str, as_json: JsonOpt = False) -> None:
    """Show a person, their contact methods (credentials masked) and rules."""
    user = ApiClient().get(f"/api/v1/users/{user_id}")
    if as_json:
        print_json(user)
        return
    _user_line(user)
    table("Contact methods", ["label", "url"], [[c["label"], c["url"]] for c in user["contacts"]])
    if user["rules"]:
        table(
            "Notification rules",
            ["after", "contacts", "urgency"],
            [
                [
                    r["after"],
                    r["contacts"] if isinstance(r["contacts"], str) else ", ".join(r["contacts"]),
                    r["urgency"],
                ]
                for r in user["rules"]
            ],
        )


def _labels(contacts: str | list[str]) -> str:
    return contacts if isinstance(contacts, str) else ", ".join(contacts)


@user_app.command("remove")
@handle_errors
def user_remove(user_id: str) -> None:
    """Remove a person."""
    ApiClient().request("DELETE", f"/api/v1/users/{user_id}")
    console.print(f"removed user {user_id}", highlight=False)


@user_app.command("contact-add")
@handle_errors
def contact_add(
    user_id: str,
    url: Annotated[str, typer.Argument(help="Apprise URL: mailto://..., ntfy://..., json://...")],
    label: Annotated[str | None, typer.Option("--label", help="Default: the URL scheme.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a contact method to a person."""
    user = ApiClient().post(f"/api/v1/users/{user_id}/contacts", {"label": label, "url": url})
    print_json(user) if as_json else _user_line(user)


@user_app.command("contact-remove")
@handle_errors
def contact_remove(user_id: str, label: str, as_json: JsonOpt = False) -> None:
    """Remove one of a person's contact methods."""
    user = ApiClient().delete(f"/api/v1/users/{user_id}/contacts/{label}")
    print_json(user) if as_json else _user_line(user)


@user_app.command("test-notify")
@handle_errors
def test_notify(user_id: str, as_json: JsonOpt = False) -> None:
    """Send a test message through each of a person's contact methods and report each result."""
    results = ApiClient().post(f"/api/v1/users/{user_id}/test-notify")
    if as_json:
        print_json(results)
    else:
        table(
            f"Test notifications to {user_id}",
            ["method", "url", "result", "ms"],
            [[r["method"], r["url"], "ok" if r["ok"] else r["error"], r["elapsed_ms"]] for r in results],
        )
    if not results:
        fail(f"{user_id} has no contact method: add one with `warroom user contact-add {user_id} URL`.")
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)


@user_app.command("shifts")
@handle_errors
def user_shifts(
    user_id: str,
    start: Annotated[str | None, typer.Option("--from", help="ISO time, now, +2d (default now).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Default: 14 days after --from.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A person's shifts on every schedule."""
    shifts = ApiClient().get(f"/api/v1/users/{user_id}/shifts", **{"from": start, "to": end})
    if as_json:
        print_json(shifts)
        return
    table(
        f"Shifts of {user_id}",
        ["schedule", "from", "to", "why"],
        [[s["schedule"], when(s["start"]), when(s["end"]), s["source"]] for s in shifts],
    )


# -- teams -------------------------------------------------------------------------------------------------------


@team_app.command("add")
@handle_errors
def team_add(
    team_id: str,
    name: Annotated[str, typer.Option("--name")] = "",
    member: Annotated[list[str] | None, typer.Option("--member", help="User id (repeatable).")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Apprise URL of the team channel.")] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Default policy of the team's services.")] = None,
    service: Annotated[
        list[str] | None, typer.Option("--service", help="A service the team owns (repeatable).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a team."""
    team = ApiClient().post(
        "/api/v1/teams",
        {
            "id": team_id,
            "name": name,
            "members": member or [],
            "channel": channel,
            "policy": policy,
            "services": service or [],
        },
    )
    if as_json:
        print_json(team)
    else:
        console.print(f"team {team['id']}: {', '.join(team['members']) or 'no members'}", markup=False)


@team_app.command("list")
@handle_errors
def team_list(as_json: JsonOpt = False) -> None:
    """List teams."""
    teams = ApiClient().get("/api/v1/teams")
    if as_json:
        print_json(teams)
        return
    table(
        None,
        ["id", "name", "members", "channel", "policy", "services"],
        [
            [t["id"], t["name"], ", ".join(t["members"]), t["channel"], t["policy"], ", ".join(t["services"])]
            for t in teams
        ],
    )


@team_app.command("remove")
@handle_errors
def team_remove(team_id: str) -> None:
    """Remove a team."""
    ApiClient().request("DELETE", f"/api/v1/teams/{team_id}")
    console.print(f"removed team {team_id}", highlight=False)


# -- schedules ---------------------------------------------------------------------------------------------------


@oncall_app.command("who")
@handle_errors
def who(
    schedule: Annotated[str | None, typer.Option("--schedule", "-s", help="One schedule (default: all).")] = None,
    at: Annotated[str | None, typer.Option("--at", help="ISO time, now, +2d, -3h (default now).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Who is on call now, or at a given time."""
    answers = ApiClient().get("/api/v1/oncall", schedule=schedule, at=at)
    if as_json:
        print_json(answers)
        return
    if not answers:
        console.print(f"no schedule configured — see {DOCS}", highlight=False)
        return
    table(
        None,
        ["schedule", "on call", "since", "until", "why"],
        [[a["schedule"], a["user"] or "nobody", when(a["start"]), when(a["end"]), a["source"]] for a in answers],
    )


@oncall_app.command("shifts")
@handle_errors
def shifts(
    schedule: Annotated[str, typer.Option("--schedule", "-s")],
    start: Annotated[
        str | None, typer.Option("--from", help="ISO time (schedule's zone if no offset), now, +2d.")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Default: 14 days after --from.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The shifts of a schedule between two times (layers, calendar and overrides combined)."""
    answer = ApiClient().get(f"/api/v1/schedules/{schedule}/shifts", **{"from": start, "to": end})
    if as_json:
        print_json(answer)
        return
    table(
        f"{schedule}: {when(answer['start'])} → {when(answer['end'])} (UTC)",
        ["from", "to", "on call", "why"],
        [[when(s["start"]), when(s["end"]), s["user"], s["source"]] for s in answer["shifts"]],
    )
    if answer["unknown_calendar_names"]:
        console.print(
            "calendar events naming nobody known: " + ", ".join(answer["unknown_calendar_names"]), markup=False
        )


@oncall_app.command("override")
@handle_errors
def override(
    schedule: Annotated[str, typer.Option("--schedule", "-s")],
    user: Annotated[str, typer.Option("--user", "-u", help="Who covers.")],
    start: Annotated[str, typer.Option("--from", help="ISO time with offset or Z, e.g. 2026-03-29T09:00Z.")],
    end: Annotated[str, typer.Option("--to")],
    note: Annotated[str, typer.Option("--note")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Put someone on call on a schedule for a while (a swap or cover), above every layer."""
    created = ApiClient().post(
        f"/api/v1/schedules/{schedule}/overrides",
        {"user": user, "start": _iso(start), "end": _iso(end), "note": note},
    )
    if as_json:
        print_json(created)
    else:
        console.print(
            f"override {created['id']}: {user} on {schedule} "
            f"from {when(created['start'])} to {when(created['end'])} UTC",
            markup=False,
        )


def _iso(value: str) -> str:
    """Times for overrides must carry an offset; a bare ISO time is taken as UTC (said in --help)."""
    text = value.strip()
    if text.endswith("Z") or "+" in text[10:] or text[10:].count("-") > 0:
        return text
    return text + "+00:00"


@oncall_app.command("overrides")
@handle_errors
def overrides(
    schedule: Annotated[str, typer.Option("--schedule", "-s")],
    past: Annotated[bool, typer.Option("--past", help="Include overrides that ended.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List a schedule's overrides."""
    rows = ApiClient().get(f"/api/v1/schedules/{schedule}/overrides", past=past or None)
    if as_json:
        print_json(rows)
        return
    table(
        None,
        ["id", "user", "from", "to", "note", "by"],
        [[o["id"], o["user"], when(o["start"]), when(o["end"]), o["note"], o["created_by"]] for o in rows],
    )


@oncall_app.command("override-remove")
@handle_errors
def override_remove(schedule: Annotated[str, typer.Option("--schedule", "-s")], override_id: int) -> None:
    """Remove an override."""
    ApiClient().delete(f"/api/v1/schedules/{schedule}/overrides/{override_id}")
    console.print(f"removed override {override_id}", highlight=False)


@oncall_app.command("schedules")
@handle_errors
def schedules(as_json: JsonOpt = False) -> None:
    """List schedules."""
    rows = ApiClient().get("/api/v1/schedules")
    if as_json:
        print_json(rows)
        return
    table(
        None,
        ["id", "name", "timezone", "layers", "calendar", "from"],
        [[s["id"], s["name"], s["timezone"], len(s["layers"]), s["ical"], s["source"]] for s in rows],
    )


@oncall_app.command("import")
@handle_errors
def import_ical(
    schedule: Annotated[str, typer.Option("--schedule", "-s")],
    source: Annotated[str, typer.Argument(help="An .ics file, or an http(s) URL the server fetches.")],
    as_json: JsonOpt = False,
) -> None:
    """Import an iCalendar file or URL into a schedule (event summaries name the users)."""
    if source.startswith(("http://", "https://", "webcal://")):
        body: dict[str, Any] = {"url": source}
    else:
        try:
            body = {"text": Path(source).read_text(encoding="utf-8")}
        except OSError as exc:
            fail(f"cannot read {source}: {exc.strerror}")
    result = ApiClient().request("PUT", f"/api/v1/schedules/{schedule}/ical", json=body).json()
    if as_json:
        print_json(result)
        return
    console.print(f"imported into {schedule}: {result['events_next_30_days']} shifts in the next 30 days", markup=False)
    if result["unknown_calendar_names"]:
        console.print("events naming nobody known: " + ", ".join(result["unknown_calendar_names"]), markup=False)


@oncall_app.command("feed")
@handle_errors
def feed(
    schedule: Annotated[str | None, typer.Option("--schedule", "-s")] = None,
    user: Annotated[str | None, typer.Option("--user", "-u")] = None,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Give the feed a new random token; the old URL stops working (admin).")
    ] = False,
) -> None:
    """Print the .ics feed URL of a schedule or a user, to subscribe to in a calendar app."""
    if (schedule is None) == (user is None):
        fail("pass --schedule or --user", code=2)
    kind, ident = ("schedules", schedule) if schedule else ("users", user)
    client = ApiClient()
    answer = (
        client.post(f"/api/v1/feeds/{kind}/{ident}/rotate") if rotate else client.get(f"/api/v1/feeds/{kind}/{ident}")
    )
    console.print(answer["url"], markup=False, highlight=False, soft_wrap=True)


def _yaml_scalar(value: object) -> str:
    """JSON's fallback for the date and time values YAML produces."""
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    raise TypeError(f"cannot send a {type(value).__name__} as JSON")


@oncall_app.command("apply")
@handle_errors
def apply(
    path: Annotated[Path, typer.Argument(help="YAML with users, teams, schedules and/or policies sections.")],
) -> None:
    """Create or replace users, teams, schedules and policies from a YAML file, over the API."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        fail(f"cannot read {path}: {exc}")
    if not isinstance(data, dict):
        fail(f"{path}: expected a mapping with users, teams, schedules and/or policies sections")
    # YAML reads `start: 2026-01-05` as a date, which JSON cannot carry: send dates as ISO text, as written.
    data = json.loads(json.dumps(data, default=_yaml_scalar))
    client = ApiClient()
    # Teams before policies name them, policies before teams use them as default: two passes for teams.
    order = [("users", "users"), ("teams", "teams"), ("schedules", "schedules"), ("policies", "policies")]
    for section, route in order:
        for item in data.get(section) or []:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                fail(f"{path}: {section}: every entry is a mapping with an `id`")
            body = dict(item)
            if section == "teams":
                body["policy"] = None
            client.request("PUT", f"/api/v1/{route}/{item['id']}", json=body)
            console.print(f"{section[:-1]} {item['id']}: applied", highlight=False)
    for item in data.get("teams") or []:
        if item.get("policy"):
            client.request("PUT", f"/api/v1/teams/{item['id']}", json=item)


# -- policies ----------------------------------------------------------------------------------------------------


@policy_app.command("list")
@handle_errors
def policy_list(as_json: JsonOpt = False) -> None:
    """List escalation policies."""
    rows = ApiClient().get("/api/v1/policies")
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"no policy configured — see {DOCS}", highlight=False)
        return
    for policy in rows:
        table(
            f"{policy['id']} (repeat {policy['repeat']}, from {policy['source']})",
            ["level", "notify", "escalate after", "when"],
            [
                [i + 1, ", ".join(level["notify"]), level["escalate_after"], _when(level.get("when"))]
                for i, level in enumerate(policy["levels"])
            ],
        )


def _when(value: dict[str, Any] | None) -> str:
    if not value:
        return "always"
    return ", ".join(f"{k}={v}" for k, v in value.items() if v)


# -- paging (added to `warroom incident`) ------------------------------------------------------------------------


@incident_app.command("escalate")
@handle_errors
def escalate(number: int, as_json: JsonOpt = False) -> None:
    """Page the next level of the incident's escalation policy now."""
    escalation = ApiClient().post(f"/api/v1/incidents/{number}/escalate")
    if as_json:
        print_json(escalation)
        return
    nxt = escalation["next_level"]
    console.print(
        f"#{number}: paged; paging is {escalation['state']}, next level {nxt if nxt else '(none left)'}",
        markup=False,
        highlight=False,
    )


@incident_app.command("pages")
@handle_errors
def pages(number: int, as_json: JsonOpt = False) -> None:
    """The notifications sent about an incident, with every delivery attempt."""
    rows = ApiClient().get(f"/api/v1/incidents/{number}/notifications")
    if as_json:
        print_json(rows)
        return
    table(
        f"Notifications of #{number}",
        ["id", "kind", "to", "method", "level", "state", "tries", "sent", "last error"],
        [
            [
                n["id"][:14],  # the full stable id is in --json
                n["kind"],
                n["user"] or (f"team {n['team']}" if n["team"] else "-"),
                n["method"],
                n["level"],
                n["state"],
                len(n["attempts"]),
                when(n["sent_at"]),
                (n["last_error"] or "")[:60] or None,
            ]
            for n in rows
        ],
    )


# -- `warroom config export` -------------------------------------------------------------------------------------


@handle_errors
def config_export(
    as_json: JsonOpt = False,
) -> None:
    """Print users, teams, schedules and policies as warroom.yaml sections, including changes made over the API."""
    data = ApiClient().get("/api/v1/config/oncall")
    if as_json:
        print_json(data)
    else:
        console.print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), markup=False, highlight=False, end="")
