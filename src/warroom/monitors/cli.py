"""`warroom monitor ...`: a client of the monitors API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.panel import Panel

from warroom.client import ApiClient
from warroom.cliutil import console, fail, handle_errors, print_json, table, when

app = typer.Typer(help="Health checks: add, list, show, pause, resume and run monitors.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.3f}%"


def _set(body: dict[str, Any], dotted: str, raw: str) -> None:
    """`expect.status=[200]` into body["expect"]["status"] = [200] (values are YAML: numbers, lists, ...)."""
    value = yaml.safe_load(raw) if raw != "" else ""
    *parents, last = dotted.split(".")
    node = body
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            fail(f"--set {dotted}: {key} is not a mapping.", code=2)
    node[last] = value


def _definition(file: Path) -> dict[str, Any]:
    """The monitor definition in `file`; a file that cannot be used is one line (exit 2), never a traceback."""
    from warroom import yamlerrors

    if file.is_dir():
        fail(f"cannot read {file}: it is a folder, not a file", code=2)
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}", code=2)
    except UnicodeDecodeError:
        fail(f"cannot read {file}: not UTF-8 text", code=2)
    except yaml.YAMLError as exc:
        line, message = yamlerrors.describe(exc)
        fail(f"{file}:{line}: {message}" if line else f"{file}: {message}", code=2)
    if not isinstance(loaded, dict):
        fail(f"{file}: expected a mapping with one monitor's fields.", code=2)
    return loaded


@app.command("add")
@handle_errors
def add(
    name: Annotated[str | None, typer.Argument(help="Monitor name (or give it in --file).")] = None,
    type_: Annotated[str | None, typer.Option("--type", "-t", help="http, tcp, tls, postgres, redis, ...")] = None,
    service: Annotated[str | None, typer.Option("--service", "-s", help="The service it watches.")] = None,
    url: Annotated[str | None, typer.Option(help="URL (http, postgres, redis, prometheus).")] = None,
    interval: Annotated[str | None, typer.Option(help="e.g. 30s (default).")] = None,
    timeout: Annotated[str | None, typer.Option(help="e.g. 5s.")] = None,
    severity: Annotated[str | None, typer.Option(help="P0..P4 (default P2).")] = None,
    down_after: Annotated[int | None, typer.Option("--down-after", help="Consecutive failures before down.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Any other field as key=value, YAML values, dotted for nesting: expect.status=[200]"
        ),
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="A YAML file with one monitor definition.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a monitor (admin token needed). A heartbeat's ping token is printed once."""
    body: dict[str, Any] = {}
    if file is not None:
        body.update(_definition(file))
    for key, value in {
        "name": name,
        "type": type_,
        "service": service,
        "url": url,
        "interval": interval,
        "timeout": timeout,
        "severity": severity,
        "down_after": down_after,
    }.items():
        if value is not None:
            body[key] = value
    for item in set_ or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--set {item!r} is not key=value.", code=2)
        _set(body, key.strip(), value)
    for required in ("name", "type", "service"):
        if required not in body:
            fail(f"missing {required}: pass it as an option or in --file.", code=2)
    monitor = ApiClient().post("/api/v1/monitors", body)
    if as_json:
        print_json(monitor)
        return
    console.print(f"added {monitor['name']} ({monitor['type']}, every {monitor['interval']:g}s)", highlight=False)
    if monitor.get("token"):
        console.print(f"ping URL (shown once): POST $WARROOM_URL/api/v1/heartbeats/{monitor['token']}", highlight=False)


@app.command("list")
@handle_errors
def list_(
    service: Annotated[str | None, typer.Option(help="Only this service's monitors.")] = None,
    state: Annotated[str | None, typer.Option(help="up, down or unknown.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List monitors with their state."""
    monitors = ApiClient().get("/api/v1/monitors", service=service, state=state)
    if as_json:
        print_json(monitors)
        return
    table(
        None,
        ["name", "type", "service", "state", "since", "last check", "latency", "message"],
        [
            [
                m["name"],
                m["type"],
                m["service"],
                "paused" if m["paused"] else m["state"],
                when(m["state_since"]),
                when(m["last_checked_at"]),
                _ms(m["last_latency_ms"]),
                (m["last_message"] or "")[:80],
            ]
            for m in monitors
        ],
    )


@app.command("show")
@handle_errors
def show(
    name: str,
    limit: Annotated[int, typer.Option(help="How many recent results.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Current state, last results, latency percentiles (24 h) and uptime (24 h / 7 d / 30 d / 90 d)."""
    m = ApiClient().get(f"/api/v1/monitors/{name}", limit=limit)
    if as_json:
        print_json(m)
        return
    lat, up = m["latency"], m["uptime"]
    fields = [
        ("Type", m["type"]),
        ("Service", m["service"]),
        ("State", ("paused, " if m["paused"] else "") + f"{m['state']} since {when(m['state_since'])}"),
        ("Severity", m["severity"]),
        ("Every", f"{m['interval']:g}s"),
        ("Declared in", "warroom.yaml" if m["source"] == "config" else "the API"),
        ("Alert", "firing" if m["alert_open"] else "none"),
        ("Last check", f"{when(m['last_checked_at'])} {m['last_status'] or ''} {m['last_message'] or ''}".strip()),
        ("Latency 24h", f"p50 {_ms(lat['p50'])}, p95 {_ms(lat['p95'])}, p99 {_ms(lat['p99'])} ({lat['count']} checks)"),
        ("Uptime", f"24h {_pct(up['24h'])} · 7d {_pct(up['7d'])} · 30d {_pct(up['30d'])} · 90d {_pct(up['90d'])}"),
    ]
    if m["type"] == "heartbeat":
        fields.append(("Last ping", when(m["last_ping_at"])))
    console.print(
        Panel("\n".join(f"[bold]{k}:[/bold] {v}" for k, v in fields), title=m["name"], expand=False),
        highlight=False,
    )
    table(
        "Last results",
        ["at", "status", "latency", "message"],
        [[when(r["at"]), r["status"], _ms(r["latency_ms"]), r["message"]] for r in m["results"]],
    )


def _toggle(name: str, action: str, as_json: bool) -> None:
    monitor = ApiClient().post(f"/api/v1/monitors/{name}/{action}")
    if as_json:
        print_json(monitor)
    else:
        console.print(f"{monitor['name']}: {'paused' if monitor['paused'] else 'running'}", highlight=False)


@app.command("pause")
@handle_errors
def pause(name: str, as_json: JsonOpt = False) -> None:
    """Stop running a monitor's check (state kept)."""
    _toggle(name, "pause", as_json)


@app.command("resume")
@handle_errors
def resume(name: str, as_json: JsonOpt = False) -> None:
    """Run a paused monitor again."""
    _toggle(name, "resume", as_json)


@app.command("run")
@handle_errors
def run(name: str, as_json: JsonOpt = False) -> None:
    """Run the check once now and print the result (exit 1 when it fails)."""
    result = ApiClient().post(f"/api/v1/monitors/{name}/run")
    if as_json:
        print_json(result)
    else:
        console.print(f"{name}: {result['status']} in {_ms(result['latency_ms'])}: {result['message']}", markup=False)
    if result["status"] == "down":
        raise typer.Exit(1)


@app.command("delete")
@handle_errors
def delete(name: str, as_json: JsonOpt = False) -> None:
    """Remove a monitor made over the API, with its history (admin)."""
    monitor = ApiClient().delete(f"/api/v1/monitors/{name}")
    if as_json:
        print_json(monitor)
    else:
        console.print(f"deleted {name}", highlight=False)


@app.command("token")
@handle_errors
def token(name: str, as_json: JsonOpt = False) -> None:
    """Issue a new ping token for a heartbeat monitor (admin); the old one stops working."""
    answer = ApiClient().post(f"/api/v1/monitors/{name}/token")
    if as_json:
        print_json(answer)
    else:
        console.print(f"ping URL: POST $WARROOM_URL{answer['ping_path']}", highlight=False)
