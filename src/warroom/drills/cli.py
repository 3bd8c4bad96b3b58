"""`warroom drill ...`: a client of the drills API; `drill run` may also break a local service (from the
operator's own scenario file, as an argv list without a shell) and then follows the drill to its report."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from warroom.client import ApiClient
from warroom.cliutil import console, err_console, fail, handle_errors, print_json, table, when
from warroom.timeparse import format_duration, parse_duration

app = typer.Typer(
    help="Drills: rehearse an incident end to end, or test every on-call contact method.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _break(argv: list[str], timeout: float, folder: Path) -> None:
    """Run the scenario's break command: an argv list, no shell, bounded; fail naming what happened."""
    try:
        done = subprocess.run(
            argv, cwd=folder, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        fail(f"break.argv: cannot run {argv[0]!r}: no such program")
    except subprocess.TimeoutExpired:
        fail(f"break.argv: {argv[0]} did not finish within {format_duration(timeout)} (break.timeout)")
    except OSError as exc:
        fail(f"break.argv: cannot run {argv[0]!r}: {exc.strerror or exc}")
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        fail(f"break.argv: {argv[0]} exited with {done.returncode}: {last[0][:300]}")


def _report(drill: dict[str, Any]) -> None:
    report = drill["report"]
    console.print(
        f"Drill #{drill['id']} {drill['name']} — {drill['state']}"
        + (f", incident #{drill['incident']} [{report.get('severity')}]" if drill.get("incident") else ""),
        markup=False,
        highlight=False,
    )
    if drill["kind"] == "contacts":
        table(
            "Contact methods",
            ["person", "method", "state", "after", "note"],
            [
                [m["user"], m["method"], m["state"], format_duration(m["seconds"]), m.get("why") or ""]
                for m in report.get("methods", [])
            ],
        )
        for item in report.get("unreachable", []):
            console.print(f"UNREACHABLE: {item}", markup=False, highlight=False)
        return
    table(
        "Times against the targets",
        ["measure", "took", "target", "state"],
        [
            [m["name"], format_duration(m["seconds"]), format_duration(m["target_seconds"]), m["state"]]
            for m in report.get("measures", [])
        ],
    )
    table("Paged", ["at", "who"], [[when(p["at"]), p["who"]] for p in report.get("paged", [])])
    table("Answered", ["at", "who", "how"], [[when(a["at"]), a["who"], a["how"]] for a in report.get("answered", [])])
    table(
        "Runbook steps run",
        ["at", "runbook", "step", "by", "outcome"],
        [[when(s["at"]), s["runbook"], s["step"], s["by"], s["outcome"]] for s in report.get("steps", [])],
    )
    for check in report.get("checks", []):
        seen = ", ".join(check["seen"]) or "none"
        console.print(f"{'ok  ' if check['ok'] else 'MISS'} {check['check']} (seen: {seen})", markup=False)


def _follow(client: ApiClient, drill: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Poll the drill until it ends or `timeout` seconds pass (then the drill goes on, on the server)."""
    deadline = time.monotonic() + timeout
    while drill["state"] == "running" and time.monotonic() < deadline:
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        drill = client.get(f"/api/v1/drills/{drill['id']}/report")
    return drill


@app.command("run")
@handle_errors
def run(
    scenario_file: Annotated[Path, typer.Argument(help="The scenario (YAML): alerts to inject or a break command.")],
    timeout: Annotated[
        str | None, typer.Option(help="Stop following after this long (default: the scenario's timeout).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a drill: break or alert, then follow incident, pages (marked DRILL), runbook and recovery to a report."""
    from warroom.drills.scenario import load

    scenario = load(scenario_file)
    try:
        wait = parse_duration(timeout or scenario.timeout).total_seconds()
    except ValueError as exc:
        fail(f"--timeout: {exc}", code=2)
    client = ApiClient()
    drill = client.post("/api/v1/drills/run", scenario.api_body())
    if not as_json:
        err_console.print(f"drill #{drill['id']} {drill['name']} started", markup=False, highlight=False)
    if scenario.break_ is not None:
        _break(
            scenario.break_.argv,
            parse_duration(scenario.break_.timeout).total_seconds(),
            scenario_file.resolve().parent,
        )
        if not as_json:
            err_console.print(f"broke it: {' '.join(scenario.break_.argv)}", markup=False, highlight=False)
    drill = _follow(client, drill, wait)
    if as_json:
        print_json(drill)
    else:
        _report(drill)
        if drill["state"] == "running":
            console.print(
                f"Still running on the server until {when(drill['deadline'])}: warroom drill show {drill['id']}",
                markup=False,
                highlight=False,
            )
    if drill["state"] == "timed_out":
        raise typer.Exit(1)


@app.command("contacts")
@handle_errors
def contacts(
    team: Annotated[str | None, typer.Option(help="Only this team's members (default: everyone on call now).")] = None,
    deadline: Annotated[str, typer.Option(help="Methods not acknowledged by then are unreachable.")] = "15m",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the drill until its deadline.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Page every on-call person through each contact method ("DRILL: test page, please acknowledge")."""
    client = ApiClient()
    drill = client.post("/api/v1/drills/contacts", {"team": team, "deadline": deadline})
    if wait:
        drill = _follow(client, drill, parse_duration(deadline).total_seconds() + 5)
    if as_json:
        print_json(drill)
    else:
        _report(drill)
    if drill["report"].get("unreachable") and drill["state"] != "running":
        raise typer.Exit(1)


@app.command("list")
@handle_errors
def list_(
    limit: Annotated[int, typer.Option(help="At most this many (newest first).")] = 20, as_json: JsonOpt = False
) -> None:
    """Past and running drills."""
    drills = ApiClient().get("/api/v1/drills", limit=limit)
    if as_json:
        print_json(drills)
        return
    table(
        None,
        ["#", "kind", "name", "state", "started", "incident", "by"],
        [
            [d["id"], d["kind"], d["name"], d["state"], when(d["started_at"]), d["incident"], d["started_by"]]
            for d in drills
        ],
    )


@app.command("show")
@handle_errors
def show(drill_id: Annotated[int, typer.Argument(help="The drill's number.")], as_json: JsonOpt = False) -> None:
    """A drill's report."""
    drill = ApiClient().get(f"/api/v1/drills/{drill_id}/report")
    if as_json:
        print_json(drill)
    else:
        _report(drill)
