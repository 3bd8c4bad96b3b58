"""`warroom integration|alert|route|silence|maintenance ...`: clients of the alerts API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from warroom.alerts.matchers import split_outside_quotes
from warroom.client import ApiClient
from warroom.cliutil import console, fail, handle_errors, parse_pairs, print_json, table, when

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

integration_app = typer.Typer(help="Create, list, rotate and revoke alert integrations.", no_args_is_help=True)
alert_app = typer.Typer(help="Send test alerts and list alerts.", no_args_is_help=True)
route_app = typer.Typer(help="Inspect alert routing (the routes: of warroom.yaml).", no_args_is_help=True)
silence_app = typer.Typer(help="Silence alerts for a while (like amtool).", no_args_is_help=True)
maintenance_app = typer.Typer(help="Maintenance windows per service.", no_args_is_help=True)


def _out(line: str) -> None:
    console.print(line, markup=False, highlight=False)


# -- integrations -------------------------------------------------------------------------------------------------


@integration_app.command("create")
@handle_errors
def integration_create(
    name: Annotated[str, typer.Option("--name", help="e.g. prod-alertmanager.")],
    type_: Annotated[str, typer.Option("--type", help="alertmanager, grafana, pagerduty or generic.")],
    service: Annotated[str | None, typer.Option("--service", help="Service of its alerts unless routed.")] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="Severity when the alert carries none.")] = None,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="generic: field=dotted.path (title, status, labels ...).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an integration and print its key (shown once)."""
    body: dict[str, Any] = {
        "name": name,
        "type": type_,
        "service": service,
        "severity": severity,
        "mapping": parse_pairs(mapping, "mapping"),
    }
    created = ApiClient().post("/api/v1/integrations", body)
    if as_json:
        print_json(created)
        return
    _out(f"integration {created['name']} ({created['type']}) created")
    _out(f"key: {created['key']}")
    if created["type"] == "pagerduty":
        _out("send Events API v2 to <warroom>/v2/enqueue with this key as routing_key")
    else:
        _out(f"send to <warroom>/api/v1/intake/{created['key']}  (or Authorization: Bearer <key>)")


@integration_app.command("list")
@handle_errors
def integration_list(
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked integrations.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List integrations (never their keys)."""
    items = ApiClient().get("/api/v1/integrations", include_revoked=include_revoked)
    if as_json:
        print_json(items)
        return
    table(
        None,
        ["name", "type", "service", "severity", "source", "created", "revoked"],
        [
            [
                i["name"],
                i["type"],
                i["service"],
                i["severity"],
                i["source"],
                when(i["created_at"]),
                when(i["revoked_at"]) if i["revoked_at"] else "-",
            ]
            for i in items
        ],
    )


@integration_app.command("show")
@handle_errors
def integration_show(name: str, as_json: JsonOpt = False) -> None:
    """Show one integration."""
    item = ApiClient().get(f"/api/v1/integrations/{name}")
    if as_json:
        print_json(item)
        return
    for key in (
        "name",
        "type",
        "service",
        "severity",
        "source",
        "intake_url",
        "created_at",
        "created_by",
        "revoked_at",
    ):
        _out(f"{key}: {item[key] if item[key] is not None else '-'}")
    if item["mapping"]:
        _out(f"mapping: {json.dumps(item['mapping'])}")


@integration_app.command("revoke")
@handle_errors
def integration_revoke(name: str, as_json: JsonOpt = False) -> None:
    """Revoke an integration's key: its sender gets 401 from now on."""
    item = ApiClient().delete(f"/api/v1/integrations/{name}")
    if as_json:
        print_json(item)
    else:
        _out(f"revoked integration {item['name']}")


@integration_app.command("rotate")
@handle_errors
def integration_rotate(name: str, as_json: JsonOpt = False) -> None:
    """Give an integration a new key (the old one stops working)."""
    item = ApiClient().post(f"/api/v1/integrations/{name}/rotate")
    if as_json:
        print_json(item)
    else:
        _out(f"new key for {item['name']}: {item['key']}")


# -- alerts -------------------------------------------------------------------------------------------------------


@alert_app.command("send")
@handle_errors
def alert_send(
    integration: Annotated[str, typer.Option("--integration", help="Send as this integration.")],
    label: Annotated[list[str] | None, typer.Option("--label", help="key=value (repeatable).")] = None,
    annotation: Annotated[list[str] | None, typer.Option("--annotation", help="key=value (repeatable).")] = None,
    resolved: Annotated[bool, typer.Option("--resolved", help="Send the resolution of the alert.")] = False,
    fingerprint: Annotated[str | None, typer.Option("--fingerprint", help="Default: from the labels.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a test alert as if the integration had."""
    labels = parse_pairs(label, "label")
    if not labels:
        fail("give at least one --label, e.g. --label alertname=Test", code=2)
    body = {
        "labels": labels,
        "annotations": parse_pairs(annotation, "annotation"),
        "status": "resolved" if resolved else "firing",
        "fingerprint": fingerprint,
    }
    result = ApiClient().post(f"/api/v1/integrations/{integration}/alerts", body)
    if as_json:
        print_json(result)
        return
    for item in result["alerts"]:
        where = f"incident #{item['incident']}" if item["incident"] else (item["suppressed_by"] or "no incident")
        _out(f"alert {item['id']} {item['status']} ({item['action']}): {where}")


@alert_app.command("list")
@handle_errors
def alert_list(
    status: Annotated[str | None, typer.Option(help="firing, resolved or suppressed.")] = None,
    integration: Annotated[str | None, typer.Option()] = None,
    service: Annotated[str | None, typer.Option()] = None,
    incident: Annotated[int | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(help="At most this many (newest first).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List alerts, newest first."""
    page = ApiClient().get(
        "/api/v1/alerts", status=status, integration=integration, service=service, incident=incident, limit=limit
    )
    if as_json:
        print_json(page["items"])
        return
    table(
        None,
        ["id", "status", "sev", "summary", "service", "integration", "incident", "held by", "seen", "last"],
        [
            [
                a["id"],
                a["status"],
                a["severity"],
                a["summary"],
                a["service"],
                a["integration"],
                f"#{a['incident']}" if a["incident"] else "-",
                a["suppressed_by"],
                a["received"],
                when(a["last_seen_at"]),
            ]
            for a in page["items"]
        ],
    )


@alert_app.command("show")
@handle_errors
def alert_show(alert_id: int, as_json: JsonOpt = False) -> None:
    """Show one alert with the payload it came in."""
    item = ApiClient().get(f"/api/v1/alerts/{alert_id}")
    if as_json:
        print_json(item)
        return
    for key in ("id", "status", "severity", "summary", "service", "route", "group_key", "integration", "fingerprint"):
        _out(f"{key}: {item[key]}")
    _out(f"incident: {'#' + str(item['incident']) if item['incident'] else '-'}")
    _out(f"held by: {item['suppressed_by'] or '-'}")
    _out("labels: " + ", ".join(f"{k}={v}" for k, v in item["labels"].items()))
    _out("raw: " + json.dumps(item["raw"], sort_keys=True))


# -- routes -------------------------------------------------------------------------------------------------------


def _labels_option(values: list[str]) -> dict[str, str]:
    pairs: list[str] = []
    for value in values:
        pairs.extend(split_outside_quotes(value))
    return {k: v.strip('"') for k, v in parse_pairs(pairs, "label").items()}


@route_app.command("test")
@handle_errors
def route_test(
    labels: Annotated[list[str], typer.Option("--labels", "--label", help="alertname=X,service=Y (repeatable).")],
    as_json: JsonOpt = False,
) -> None:
    """Print which route these labels take, and why."""
    result = ApiClient().post("/api/v1/routes/test", {"labels": _labels_option(labels)})
    if as_json:
        print_json(result)
        return
    for route in result["routes"]:
        mark = "✓" if route["matches"] else "✗"
        _out(f"{mark} {route['name']}")
        for reason in route["reasons"]:
            _out(f"    {reason}")
    chain = " → ".join(result["matched"]) if result["matched"] else "no route matched: default"
    _out(f"route: {result['route']} ({chain})")
    _out(f"service: {result['service'] or '-'}")
    _out(f"severity: {result['severity']} ({result['severity_reason']})")
    _out(f"group by: {', '.join(result['group_by'])}  key: {result['group_key']}")
    _out(f"policy: {result['policy'] or '-'}  runbook: {result['runbook'] or '-'}")
    _out(f"auto-resolve after: {int(result['resolve_after_seconds'])} s")


@route_app.command("list")
@handle_errors
def route_list(as_json: JsonOpt = False) -> None:
    """List the routes in the order they are tried."""
    routes = ApiClient().get("/api/v1/routes")
    if as_json:
        print_json(routes)
        return
    table(
        None,
        ["#", "name", "match", "continue", "service", "severity", "group by", "policy"],
        [
            [
                i + 1,
                r["name"],
                ", ".join(r["match"]) or "(all)",
                "yes" if r["continue"] else "no",
                r["service"],
                r["severity"],
                ", ".join(r["group_by"]),
                r["policy"],
            ]
            for i, r in enumerate(routes)
        ],
    )


# -- silences -----------------------------------------------------------------------------------------------------


@silence_app.command("add")
@handle_errors
def silence_add(
    match: Annotated[list[str], typer.Option("--match", "-m", help='name=value, name=~"regex" ... (repeatable).')],
    duration: Annotated[str | None, typer.Option("--duration", "-d", help="e.g. 2h (default 1h).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="ISO time to end at (instead of --duration).")] = None,
    start: Annotated[str | None, typer.Option("--start", help="ISO time to start at (default now).")] = None,
    comment: Annotated[str, typer.Option("--comment", "-c", help="Why.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Silence alerts matching every --match."""
    body: dict[str, Any] = {"matchers": match, "comment": comment}
    if start:
        body["starts_at"] = start
    if end:
        body["ends_at"] = end
    else:
        body["duration"] = duration or "1h"
    created = ApiClient().post("/api/v1/silences", body)
    if as_json:
        print_json(created)
    else:
        _out(f"silence {created['id']} until {when(created['ends_at'])}: {', '.join(created['matchers'])}")


@silence_app.command("list")
@handle_errors
def silence_list(
    include_expired: Annotated[bool, typer.Option("--expired", help="Include expired silences.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List silences in force or pending."""
    items = ApiClient().get("/api/v1/silences", include_expired=include_expired)
    if as_json:
        print_json(items)
        return
    table(
        None,
        ["id", "state", "matchers", "starts", "ends", "by", "comment"],
        [
            [
                s["id"],
                s["state"],
                ", ".join(s["matchers"]),
                when(s["starts_at"]),
                when(s["ends_at"]),
                s["created_by"],
                s["comment"],
            ]
            for s in items
        ],
    )


@silence_app.command("expire")
@handle_errors
def silence_expire(silence_id: int, as_json: JsonOpt = False) -> None:
    """End a silence now."""
    item = ApiClient().post(f"/api/v1/silences/{silence_id}/expire")
    if as_json:
        print_json(item)
    else:
        _out(f"silence {item['id']} expired")


# -- maintenance --------------------------------------------------------------------------------------------------


@maintenance_app.command("add")
@handle_errors
def maintenance_add(
    service: Annotated[str, typer.Option("--service", help="The service under maintenance.")],
    start: Annotated[str | None, typer.Option("--start", help="ISO time (default now).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="ISO time.")] = None,
    duration: Annotated[str | None, typer.Option("--duration", "-d", help="e.g. 2h (instead of --end).")] = None,
    weekly: Annotated[bool, typer.Option("--weekly", help="Repeat every week.")] = False,
    comment: Annotated[str, typer.Option("--comment", "-c")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Schedule a maintenance window: the service's alerts behave as silenced during it."""
    if not end and not duration:
        fail("give --end or --duration", code=2)
    body: dict[str, Any] = {
        "service": service,
        "starts_at": start or datetime.now(UTC).isoformat(),
        "weekly": weekly,
        "comment": comment,
    }
    if end:
        body["ends_at"] = end
    else:
        body["duration"] = duration
    item = ApiClient().post("/api/v1/maintenance", body)
    if as_json:
        print_json(item)
    else:
        again = " weekly" if item["weekly"] else ""
        span = f"{when(item['starts_at'])} → {when(item['ends_at'])}"
        _out(f"maintenance {item['id']} for {item['service']}{again}: {span}")


@maintenance_app.command("list")
@handle_errors
def maintenance_list(
    service: Annotated[str | None, typer.Option("--service")] = None,
    include_past: Annotated[bool, typer.Option("--all", help="Include past and cancelled windows.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List current and upcoming maintenance windows."""
    items = ApiClient().get("/api/v1/maintenance", service=service, include_past=include_past)
    if as_json:
        print_json(items)
        return
    table(
        None,
        ["id", "service", "active", "next start", "next end", "weekly", "comment"],
        [
            [
                w["id"],
                w["service"],
                "yes" if w["active"] else "no",
                when(w["next_start"]),
                when(w["next_end"]),
                "yes" if w["weekly"] else "no",
                w["comment"],
            ]
            for w in items
        ],
    )


@maintenance_app.command("cancel")
@handle_errors
def maintenance_cancel(window_id: int, as_json: JsonOpt = False) -> None:
    """Cancel a maintenance window."""
    item = ApiClient().post(f"/api/v1/maintenance/{window_id}/cancel")
    if as_json:
        print_json(item)
    else:
        _out(f"maintenance {item['id']} cancelled")
