"""The runbook commands that talk to a warroom server: list, match, stats, and `run --incident` (interactive).

Thin clients of the HTTP API: the server plans, runs and records; this only shows and asks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape

from warroom.client import ApiClient
from warroom.cliutil import fail, table, when
from warroom.runbooks.blocktext import find_placeholders
from warroom.runbooks.danger import command_dangers
from warroom.runbooks.placeholders import fill_command
from warroom.timeparse import format_duration

Ask = Callable[[str, Sequence[str] | None], str]
BUSY = ("queued", "running")
# How often `run --incident` asks the server whether a step has finished.
POLL_INTERVAL = 0.25


def list_rows(runbooks: Sequence[Mapping[str, Any]]) -> None:
    """Print the library as a table."""
    table(
        None,
        ["id", "title", "services", "steps", "errors", "warnings", "review due"],
        [
            [
                r["id"],
                r["title"],
                ", ".join(r["services"]) or None,
                r["steps"],
                r["errors"],
                r["warnings"],
                r["review_due"],
            ]
            for r in runbooks
        ],
    )


def match_rows(matches: Sequence[Mapping[str, Any]]) -> None:
    """Print runbook matches, best first, with their reasons."""
    table(
        None,
        ["#", "runbook", "title", "score", "why"],
        [
            [rank, m["runbook"]["id"], m["runbook"]["title"], f"{m['score']:g}", "; ".join(m["reasons"])]
            for rank, m in enumerate(matches, 1)
        ],
    )


def _duration(seconds: float | None, count: int) -> str | None:
    if seconds is None:
        return None
    return f"{format_duration(seconds)} (n={count})"


def stats_rows(figures: Sequence[Mapping[str, Any]]) -> None:
    """Print the effectiveness table."""
    table(
        "Runbook effectiveness",
        ["runbook", "used", "success rate", "resolve with", "resolve without", "last used", "review due"],
        [
            [
                f["runbook"],
                f["times_used"],
                f"{f['success_rate'] * 100:.0f}% of {f['succeeded'] + f['failed']}"
                if f["success_rate"] is not None
                else None,
                _duration(f["median_resolve_with"], f["resolved_with"]),
                _duration(f["median_resolve_without"], f["resolved_without"]),
                when(f["last_used"]),
                (f["review_due"] + (" (overdue)" if f["review_overdue"] else "")) if f["review_due"] else None,
            ]
            for f in figures
        ],
    )


class RemoteRun:
    """Walk a person through a run on the server: each step shown, asked, queued, waited for, recorded."""

    def __init__(
        self,
        client: ApiClient,
        number: int,
        *,
        ask: Ask,
        console: Console,
        poll_interval: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.number = number
        self.ask = ask
        self.console = console
        self.poll_interval = POLL_INTERVAL if poll_interval is None else poll_interval
        self.sleep = sleep
        self.quit = False

    def url(self, run: Mapping[str, Any], tail: str = "") -> str:
        """The API path of `run` (and of something under it)."""
        return f"/api/v1/incidents/{self.number}/runbook-runs/{run['id']}{tail}"

    def start(
        self, runbook: str, params: Mapping[str, str], section: str | None, from_step: int | None
    ) -> dict[str, Any]:
        """Start the run on the server."""
        body: dict[str, Any] = {"runbook": runbook, "params": dict(params)}
        if section:
            body["section"] = section
        if from_step:
            body["from_step"] = from_step
        run: dict[str, Any] = self.client.post(f"/api/v1/incidents/{self.number}/runbook-runs", body)
        sources = ", ".join(f"<{n}>={v['value']!r} ({v['source']})" for n, v in run["params"].items())
        self.console.print(
            f"run {run['id']}: [bold]{escape(run['title'])}[/bold] on incident #{self.number}"
            + (f" · {escape(sources)}" if sources else ""),
            soft_wrap=True,
        )
        return run

    def walk(self, run: dict[str, Any]) -> dict[str, Any]:
        """Ask about each step in order; returns the run as the server last showed it."""
        total = len(run["steps"])
        for step in run["steps"]:
            if step["kind"] == "reference":
                continue
            self.console.rule(f"[bold]step {step['index']}[/bold] ({total} planned) · {escape(step['section'] or '-')}")
            if step["description"] or step["label"]:
                self.console.print(f"[italic]{escape(step['description'] or step['label'])}[/italic]")
            if step["kind"] in ("manual", "check"):
                self.manual(run, step)
            else:
                self.command(run, step)
            if self.quit:
                break
        latest: dict[str, Any] = self.client.get(self.url(run))
        return latest

    def _skip(self, run: Mapping[str, Any], step: Mapping[str, Any], reason: str = "") -> None:
        while not reason.strip():
            reason = self.ask("Reason for skipping", None)
        self.client.post(self.url(run, f"/steps/{step['id']}/skip"), {"reason": reason})
        self.console.print(f"skipped: {escape(reason)}")

    def manual(self, run: Mapping[str, Any], step: Mapping[str, Any]) -> None:
        """A manual or check step: done / not done (with a comment), skip or quit."""
        self.console.print(escape(step["text"]), soft_wrap=True)
        answer = self.ask("Done?", ["done", "not done", "skip", "quit"])
        if answer == "quit":
            self.quit = True
            return
        if answer == "skip":
            self._skip(run, step)
            return
        comment = self.ask("Comment (optional)", None)
        self.client.post(self.url(run, f"/steps/{step['id']}/done"), {"done": answer == "done", "comment": comment})

    def command(self, run: Mapping[str, Any], step: Mapping[str, Any]) -> None:
        """A command step: show the filled command, ask run / skip / quit, confirm if dangerous, wait."""
        extra: dict[str, str] = {}
        if step["command"] is None:
            if step["fill_error"]:
                self.console.print(f"[red]cannot run: {escape(step['fill_error'])}[/red]")
            self.console.print(f"[dim]$ {escape(step['template'] or '')}[/dim]", soft_wrap=True)
            for name in step["missing"]:
                value = self.ask(f"Value for <{name}> (empty to leave unfilled)", None)
                if value:
                    extra[name] = value
            if len(extra) < len(step["missing"]) or not step["missing"]:
                self._skip(run, step, "cannot run: unfilled placeholder(s) " + ", ".join(step["missing"]))
                return
        else:
            self.console.print(f"[bold]$[/bold] {escape(step['command'])}", soft_wrap=True, highlight=False)
        dangers = list(step["danger_reasons"])
        if extra:
            # The server judges danger on the command as filled; values typed now can be what makes it
            # dangerous, so fill it here the same way to know whether to ask (else the server answers 422).
            values = {name: v["value"] for name, v in (run.get("params") or {}).items()} | extra
            template = step["template"] or ""
            filled = fill_command(template, find_placeholders(template, step["placeholders"]), values).command
            dangers = list(dict.fromkeys([*dangers, *command_dangers(filled or "")]))
        if dangers:
            self.console.print(f"[red bold]DANGEROUS:[/red bold] {escape(', '.join(dangers))}")
        answer = self.ask("Run it?", ["run", "skip", "quit"])
        if answer == "quit":
            self.quit = True
            return
        if answer == "skip":
            self._skip(run, step)
            return
        confirm = False
        if step["needs_confirmation"] or dangers:
            typed = self.ask("This step needs confirmation: type yes to run it", None)
            if typed.strip().lower() != "yes":
                self._skip(run, step, "not confirmed")
                return
            confirm = True
        queued = self.client.post(self.url(run, f"/steps/{step['id']}/run"), {"confirm": confirm, "params": extra})
        if extra:
            self.console.print(f"[bold]$[/bold] {escape(queued['command'])}", soft_wrap=True, highlight=False)
        self.wait(run, step)

    def wait(self, run: Mapping[str, Any], step: Mapping[str, Any]) -> dict[str, Any]:
        """Poll the run until the step has finished on the server, then print its output and result."""
        deadline = time.monotonic() + float(step["timeout"] or 300) + 120
        while True:
            latest = self.client.get(self.url(run))
            current: dict[str, Any] = next(s for s in latest["steps"] if s["id"] == step["id"])
            if current["state"] not in BUSY:
                break
            if time.monotonic() > deadline:
                fail(f"step {step['index']} is still {current['state']} on the server; is its engine running?")
            self.sleep(self.poll_interval)
        if current["output"]:
            self.console.print(escape(current["output"].rstrip("\n")), soft_wrap=True, highlight=False)
        if current["state"] == "succeeded":
            status = "[green]ok[/green]"
        elif current["timed_out"]:
            status = "[red]timed out[/red]"
        else:
            status = f"[red]exit {current['exit_code']}[/red]"
        took = f" in {current['duration']:.2f}s" if current["duration"] is not None else ""
        note = f" · {escape(current['note'])}" if current["note"] else ""
        self.console.print(f"{status}{took}{note}")
        return current

    def finish(self, run: Mapping[str, Any]) -> dict[str, Any]:
        """Finish the run on the server and print the summary and outcome."""
        done: dict[str, Any] = self.client.post(self.url(run, "/finish"), {})
        table(
            "Run summary",
            ["step", "kind", "state", "exit", "time", "note"],
            [
                [
                    s["index"],
                    s["kind"],
                    s["state"],
                    s["exit_code"],
                    f"{s['duration']:.2f}s" if s["duration"] is not None else None,
                    s["reason"] or s["note"] or None,
                ]
                for s in done["steps"]
                if s["state"] is not None
            ],
        )
        self.console.print(f"outcome: [bold]{done['outcome']}[/bold]")
        return done
