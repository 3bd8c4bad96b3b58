"""`warroom runbook show|lint|run`: work on files without a server."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt as RichPrompt
from rich.table import Table

from warroom.client import ApiClient
from warroom.cliutil import handle_errors, print_json
from warroom.errors import InvalidInput, WarroomError
from warroom.runbooks import library, remote
from warroom.runbooks.danger import command_dangers
from warroom.runbooks.lint import DEFAULT_FILLABLE, has_errors, lint_many, lint_runbook
from warroom.runbooks.model import Level, Runbook, Step, StepKind
from warroom.runbooks.parser import parse_file
from warroom.runbooks.placeholders import check_value, fill_step, parse_assignments, resolve
from warroom.runbooks.plan import Outcome, outcome, plan, select_steps
from warroom.runbooks.runner import RunResult, run_command
from warroom.runbooks.serialize import runbook_to_dict

app = typer.Typer(name="runbook", help="Show, lint and run Markdown runbooks.", no_args_is_help=True)

# ask(question, choices) -> answer. Choices None means free text. Injectable so tests need no terminal.
Ask = Callable[[str, Sequence[str] | None], str]
Runner = Callable[..., RunResult]

DirOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--dir",
        help="Folder with runbooks, to find RUNBOOK by id (also WARROOM_RUNBOOK_DIRS, colon-separated).",
    ),
]


def _rich_ask(question: str, choices: Sequence[str] | None) -> str:
    if choices:
        return RichPrompt.ask(question, choices=list(choices), default=choices[0])
    return RichPrompt.ask(question, default="")


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(1)


def _load(ref: str, dirs: Sequence[Path] | None) -> Runbook:
    try:
        return library.resolve(ref, list(dirs or []))
    except WarroomError as exc:
        raise _fail(exc.detail) from None


@app.command()
def show(
    runbook: Annotated[str, typer.Argument(help="A runbook file, or an id in the runbook folders.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print sections and steps as JSON.")] = False,
    dirs: DirOption = None,
) -> None:
    """Show a runbook's sections and steps."""
    parsed = _load(runbook, dirs)
    if as_json:
        sys.stdout.write(json.dumps(runbook_to_dict(parsed), indent=2, ensure_ascii=False) + "\n")
        return
    console = Console()
    where = escape(str(parsed.path or ""))
    console.print(f"[bold]{escape(parsed.title)}[/bold]  [dim]id {escape(parsed.id)} · {where}[/dim]")
    steps_by_section: dict[int | None, list[Step]] = {}
    for step in parsed.steps:
        steps_by_section.setdefault(step.section, []).append(step)
    for section in parsed.sections:
        role = f" [cyan]({section.role.value})[/cyan]" if section.role else ""
        indent = "  " * max(section.level - 1, 0)
        console.print(f"{indent}[bold]{escape(section.title)}[/bold]{role} [dim]line {section.line}[/dim]")
        for step in steps_by_section.get(section.index, []):
            console.print(indent + "  " + _step_line(step), soft_wrap=True)
    for problem in parsed.problems:
        colour = "red" if problem.level is Level.ERROR else "yellow"
        console.print(f"[{colour}]{problem.level.value}[/{colour}] line {problem.line}: {escape(problem.message)}")


def _step_line(step: Step) -> str:
    marks = ""
    if step.dangerous:
        marks += " [red]DANGEROUS[/red]"
    for reason in step.unsafe:
        marks += f"\n      [red bold]UNSAFE:[/red bold] {escape(reason)}"
    if step.placeholders:
        marks += " [magenta]" + escape(" ".join(f"<{p}>" for p in step.placeholders)) + "[/magenta]"
    body = step.command if step.command is not None else step.text
    first = (body or "").splitlines()[0] if body else ""
    more = " …" if body and "\n" in body.strip() else ""
    return f"[dim]{step.index:>3}[/dim] [green]{step.kind.value:<9}[/green] {escape(first)}{more}{marks}"


@app.command()
def lint(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Runbook files or folders (default: the runbook folders).")
    ] = None,
    dirs: DirOption = None,
    today: Annotated[
        str | None, typer.Option(help="Date to check reviews against (YYYY-MM-DD); default today.")
    ] = None,
    fillable: Annotated[list[str] | None, typer.Option("--fillable", help="More names incidents can fill.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {runbooks, errors, warnings, findings} as JSON.")
    ] = False,
) -> None:
    """Check runbooks for CI: `file:line: level: message`, exit 1 when any error."""
    targets: list[Path] = list(paths or []) or library.dirs_from_env(dirs or [])
    if not targets:
        raise typer.BadParameter("give runbook files or folders, --dir, or set WARROOM_RUNBOOK_DIRS", param_hint="PATH")
    try:
        when = date.fromisoformat(today) if today else date.today()  # noqa: DTZ011 - a calendar date is wanted
        files = library.discover(targets)
    except ValueError:
        raise _fail(f"--today {today!r} is not a date (YYYY-MM-DD)") from None
    except WarroomError as exc:
        raise _fail(exc.detail) from None
    loaded = library.load(files)
    messages = lint_many(loaded.runbooks, today=when, fillable=DEFAULT_FILLABLE | set(fillable or []))
    errors = sum(1 for m in messages if m.level is Level.ERROR)
    if as_json:
        findings = [
            {"file": m.file, "line": m.line, "level": m.level.value, "code": m.code, "message": m.message}
            for m in messages
        ]
        print_json({"runbooks": len(files), "errors": errors, "warnings": len(messages) - errors, "findings": findings})
    else:
        for message in messages:
            sys.stdout.write(f"{message}\n")
        Console(stderr=True).print(f"{len(files)} runbook(s), {errors} error(s), {len(messages) - errors} warning(s)")
    if has_errors(messages) or (strict and messages):
        raise typer.Exit(1)


@dataclass
class StepRecord:
    """What happened to one step in a local run."""

    step: Step
    action: str  # ran | skipped | done | not_done | shown
    result: RunResult | None = None
    reason: str = ""


@dataclass
class LocalRun:
    """The record of an interactive local run."""

    records: list[StepRecord] = field(default_factory=list)
    quit: bool = False

    def passed(self) -> dict[str, bool]:
        """Step id -> whether it passed, for steps that ran or were confirmed."""
        result: dict[str, bool] = {}
        for record in self.records:
            if record.action == "ran" and record.result is not None:
                result[record.step.id] = record.result.ok
            elif record.action in ("done", "not_done"):
                result[record.step.id] = record.action == "done"
        return result


def _header(console: Console, step: Step, total: int) -> None:
    console.rule(f"[bold]step {step.index}/{total}[/bold] · {escape(step.section_path or 'no section')}")
    if step.description or step.label:
        console.print(f"[italic]{escape(step.description or step.label)}[/italic]")


def run_interactive(
    runbook: Runbook,
    steps: Sequence[Step],
    values: Mapping[str, str],
    *,
    ask: Ask,
    console: Console,
    runner: Runner = run_command,
    default_timeout: float | None = None,
) -> LocalRun:
    """Walk through `steps`: show each, ask run/skip/quit (done/not done for manual steps), run commands."""
    record = LocalRun()
    known = dict(values)
    params = runbook.params
    total = len(runbook.steps)
    for step in steps:
        if step.kind is StepKind.REFERENCE:
            continue
        _header(console, step, total)
        if step.kind in (StepKind.MANUAL, StepKind.CHECK):
            console.print(escape(step.text), soft_wrap=True)
            answer = ask("Done?", ["done", "not done", "skip", "quit"])
            if answer == "quit":
                record.quit = True
                break
            if answer == "skip":
                record.records.append(StepRecord(step, "skipped", reason=ask("Reason for skipping", None)))
                continue
            comment = ask("Comment (optional)", None)
            record.records.append(StepRecord(step, "done" if answer == "done" else "not_done", reason=comment))
            continue
        for name in step.placeholders:
            if name in known:
                continue
            given = ask(f"Value for <{name}> (empty to leave unfilled)", None)
            if not given:
                continue
            try:
                check_value(name, given, params.get(name))
            except InvalidInput as exc:
                console.print(f"[red]{escape(exc.detail)}[/red]")
                continue
            known[name] = given
        fill = fill_step(step, known)
        if not fill.ready or fill.command is None:
            why = fill.error or "unfilled placeholder(s): " + ", ".join(f"<{n}>" for n in fill.missing)
            console.print(_styled(f"cannot run: {why}", "red"))
            console.print(escape(step.command or ""), soft_wrap=True)
            record.records.append(StepRecord(step, "skipped", reason=why))
            continue
        console.print(f"[bold]$[/bold] {escape(fill.command)}", soft_wrap=True)
        # Judged on the command as filled too: a value can be what makes it dangerous.
        dangers = list(dict.fromkeys([*step.danger_reasons, *command_dangers(fill.command)]))
        if dangers:
            console.print(f"[red bold]DANGEROUS:[/red bold] {escape(', '.join(dangers))}")
        answer = ask("Run it?", ["run", "skip", "quit"])
        if answer == "quit":
            record.quit = True
            break
        if answer == "skip":
            record.records.append(StepRecord(step, "skipped", reason=ask("Reason for skipping", None)))
            continue
        if dangers or step.options.confirm:
            typed = ask("This step needs confirmation: type yes to run it", None)
            if typed.strip().lower() != "yes":
                record.records.append(StepRecord(step, "skipped", reason="not confirmed"))
                continue
        result = runner(
            fill.command,
            timeout=step.options.timeout or default_timeout,
            on_line=lambda line: console.print(escape(line), soft_wrap=True, highlight=False),
        )
        status = "[green]ok[/green]" if result.ok else f"[red]exit {result.exit_code}[/red]"
        console.print(f"{status} in {result.duration:.2f}s" + (f" · {escape(result.note)}" if result.note else ""))
        record.records.append(StepRecord(step, "ran", result=result))
    return record


def _styled(message: str, style: str) -> str:
    """`message` escaped and wrapped in a Rich style."""
    return f"[{style}]{escape(message)}[/{style}]"


def _summary(console: Console, runbook: Runbook, run: LocalRun) -> Outcome:
    table = Table(title="Run summary")
    for column in ("step", "kind", "action", "exit", "time", "note"):
        table.add_column(column)
    for rec in run.records:
        result = rec.result
        table.add_row(
            str(rec.step.index),
            rec.step.kind.value,
            rec.action,
            "" if result is None else str(result.exit_code),
            "" if result is None else f"{result.duration:.2f}s",
            escape(rec.reason or (result.note if result else "")),
        )
    console.print(table)
    verdict = outcome(runbook, run.passed())
    console.print(f"outcome: [bold]{verdict.value}[/bold]" + (" (quit early)" if run.quit else ""))
    return verdict


def ask_default(question: str, choices: Sequence[str] | None) -> str:
    """The prompt used by `runbook run`; tests replace `cli.ASK`."""
    return _rich_ask(question, choices)


ASK: Ask = ask_default


@app.command()
def run(
    runbook: Annotated[str, typer.Argument(help="A runbook file, or an id in the runbook folders.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print every command as it would run; run nothing.")
    ] = False,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="A placeholder value, NAME=VALUE (repeatable).")
    ] = None,
    section: Annotated[str | None, typer.Option(help="Only steps under sections matching this text.")] = None,
    from_step: Annotated[int | None, typer.Option("--from-step", help="Start at this step number.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds before a command is stopped (default 300).")] = None,
    dirs: DirOption = None,
    incident: Annotated[
        int | None,
        typer.Option(
            "--incident",
            help="Run on the warroom server for this incident: steps run there, every result on its timeline.",
        ),
    ] = None,
) -> None:
    """Walk through a runbook in this terminal: each step shown, asked, run, and summarised."""
    if incident is not None:
        if dry_run or timeout is not None:
            why = (
                "--dry-run prints commands from a file: leave out --incident"
                if dry_run
                else "--timeout: on the server a step's timeout comes from the runbook or runbooks.default_timeout"
            )
            Console(stderr=True).print(f"[red]error:[/red] {escape(why)}", soft_wrap=True)
            raise typer.Exit(2)
        _run_on_server(runbook, incident, param or [], section, from_step)
        return
    parsed = _load(runbook, dirs)
    console = Console()
    try:
        given = parse_assignments(param or [])
        steps = select_steps(parsed, section=section, from_step=from_step)
        names = list(dict.fromkeys(n for s in steps for n in s.placeholders))
        values = {name: v.value for name, v in resolve(names, given=given, params=parsed.front.params).items()}
        for name, value in given.items():
            if name not in values:
                check_value(name, value, parsed.params.get(name))
    except WarroomError as exc:
        raise _fail(exc.detail) from None
    errors = [m for m in lint_runbook(parsed, today=date.today()) if m.level is Level.ERROR]  # noqa: DTZ011
    for message in errors:
        console.print(_styled(str(message), "red"), soft_wrap=True)
    if dry_run:
        _dry_run(console, parsed, steps, values)
        return
    if errors:
        # An unclosed fence turns the prose after it into commands: a runbook lint rejects never starts.
        where = f"{parsed.path}:{errors[0].line}" if parsed.path else f"line {errors[0].line}"
        count = len(errors)
        raise _fail(f"runbook {parsed.id!r} cannot start: lint finds {count} error(s); {where}: {errors[0].message}")
    try:
        record = run_interactive(parsed, steps, values, ask=ASK, console=console, default_timeout=timeout)
    except EOFError:
        raise _fail("input ended before the run did; use --dry-run to only print the commands") from None
    if _summary(console, parsed, record) is Outcome.FAILED:
        raise typer.Exit(1)


def _dry_run(console: Console, runbook: Runbook, steps: Sequence[Step], values: Mapping[str, str]) -> None:
    for planned in plan(steps, values):
        step = planned.step
        head = f"[bold]{step.index:>3}[/bold] [green]{step.kind.value}[/green]"
        head += f" [dim]{escape(step.section_path)}[/dim]"
        if step.description or step.label:
            head += f" — {escape(step.description or step.label)}"
        console.print(head, soft_wrap=True)
        if step.kind is StepKind.COMMAND and planned.fill is not None:
            if planned.fill.ready and planned.fill.command is not None:
                console.print(f"    $ {escape(planned.fill.command)}", soft_wrap=True, highlight=False)
            else:
                why = planned.fill.error or "unfilled: " + ", ".join(f"<{n}>" for n in planned.fill.missing)
                console.print(f"    $ {escape(step.command or '')}", soft_wrap=True, highlight=False)
                console.print("    " + _styled(f"would not run: {why}", "yellow"))
            if planned.needs_confirmation:
                reasons = ", ".join(planned.danger_reasons) or "marked confirm"
                console.print("    " + _styled(f"asks for confirmation: {reasons}", "red"))
        elif step.kind is StepKind.REFERENCE:
            console.print(f"    [dim]({escape(step.language or 'text')} block shown, not run)[/dim]")
        else:
            console.print(f"    {escape(step.text)}", soft_wrap=True)
    console.print(f"[dim]{len(steps)} step(s) of {len(runbook.steps)}; nothing was run[/dim]")


# -- commands that use a warroom server -------------------------------------------------------------------

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("list")
@handle_errors
def list_(
    as_json: JsonOption = False,
    dirs: Annotated[
        list[Path] | None,
        typer.Option("--dir", help="List the runbooks in these folders instead of asking the server."),
    ] = None,
) -> None:
    """List runbooks (from the server's folders, or from --dir) with their errors, warnings and review date."""
    if dirs:
        try:
            loaded = library.load(library.discover(dirs))
        except WarroomError as exc:
            raise _fail(exc.detail) from None
        today = date.today()  # noqa: DTZ011 - a calendar date is wanted
        findings = lint_many(loaded.runbooks, today=today)
        runbooks = []
        for parsed in loaded.runbooks:
            messages = [m for m in findings if m.file == str(parsed.path)]
            runbooks.append(
                {
                    "id": parsed.id,
                    "title": parsed.title,
                    "path": str(parsed.path),
                    "services": parsed.services,
                    "steps": len(parsed.steps),
                    "errors": sum(1 for m in messages if m.level is Level.ERROR),
                    "warnings": sum(1 for m in messages if m.level is Level.WARNING),
                    "review_due": None,
                }
            )
    else:
        runbooks = ApiClient().get("/api/v1/runbooks")
    if as_json:
        print_json(runbooks)
    else:
        remote.list_rows(runbooks)


@app.command("match")
@handle_errors
def match(
    incident: Annotated[int, typer.Option("--incident", help="The incident number.")],
    limit: Annotated[int, typer.Option(help="At most this many.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Runbooks that fit an incident, best first, each with why."""
    matches = ApiClient().get(f"/api/v1/incidents/{incident}/runbooks", limit=limit)
    if as_json:
        print_json(matches)
    elif not matches:
        print_line(f"no runbook fits incident #{incident}")
    else:
        remote.match_rows(matches)


@app.command("stats")
@handle_errors
def stats(as_json: JsonOption = False) -> None:
    """Per runbook: times used, success rate, median time to resolve with and without it, last use, review due."""
    figures = ApiClient().get("/api/v1/runbooks/stats")
    if as_json:
        print_json(figures)
    else:
        remote.stats_rows(figures)


def print_line(text: str) -> None:
    """One plain line on stdout."""
    Console().print(text, markup=False, highlight=False)


@handle_errors
def _run_on_server(ref: str, incident: int, params: list[str], section: str | None, from_step: int | None) -> None:
    try:
        given = parse_assignments(params)
    except WarroomError as exc:
        raise _fail(exc.detail) from None
    runbook_id = ref
    if Path(ref).is_file():
        # The server runs only runbooks from its own folders: a file names the runbook by its id.
        runbook_id = parse_file(ref).id
    console = Console()
    session = remote.RemoteRun(ApiClient(), incident, ask=ASK, console=console)
    run_data = session.start(runbook_id, given, section, from_step)
    try:
        session.walk(run_data)
    except EOFError:
        raise _fail(f"input ended; run {run_data['id']} stays open on incident #{incident}") from None
    if session.quit:
        console.print(f"quit: run {run_data['id']} stays open on incident #{incident} (resolving it finishes the run)")
        return
    if session.finish(run_data)["outcome"] == Outcome.FAILED.value:
        raise typer.Exit(1)
