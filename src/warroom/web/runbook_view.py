"""What the runbook pages show, gathered through the runbooks domain's functions (no SQL here): an incident's
suggested runbooks (ranked as `warroom runbook match` ranks them) and its runs, and the library with its lint
problems and effectiveness. Runbook prose is Markdown rendered with raw HTML off: a `<script>` in it is text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.orm import Session

from warroom.errors import NotFound
from warroom.incidents import service as incidents
from warroom.incidents.models import Incident
from warroom.runbooks import effectiveness, service
from warroom.runbooks.api import run_read, summary
from warroom.runbooks.cache import duplicate_problems
from warroom.runbooks.context import alert_context, matching_context
from warroom.runbooks.effectiveness import RunbookStats
from warroom.runbooks.matching import rank
from warroom.runbooks.model import Runbook
from warroom.runbooks.schemas import ProblemRead, RunbookSummary, RunRead
from warroom.runbooks.setup import cache_of
from warroom.runtime import Runtime

MATCH_LIMIT = 10  # as the API's default
SOURCE_LIMIT = 512 * 1024  # a runbook file bigger than this is shown by its steps only

# CommonMark with raw HTML off (`<b>` and `<script>` in a runbook are shown as text) and no link autodetection;
# markdown-it refuses javascript:, vbscript:, file: and data: links (except images) by itself.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_FRONT = re.compile(r"\A---[ \t]*\r?\n.*?\r?\n---[ \t]*\r?\n", re.S)


def prose(text: str | None) -> Markup:
    """Runbook Markdown as HTML (escaped: raw HTML off); empty for no text."""
    if not text or not text.strip():
        return Markup("")
    return Markup(_markdown.render(text))  # noqa: S704 - markdown-it with html off escapes every character it keeps


@dataclass(frozen=True)
class Suggestion:
    """A runbook that fits the incident, its score and why (as the API's match answer)."""

    runbook: RunbookSummary
    score: float
    reasons: list[str]


@dataclass
class RunbookPanel:
    """An incident's runbook part: suggestions, its runs (newest first), and a step waiting for confirmation."""

    incident: Incident
    suggestions: list[Suggestion]
    runs: list[RunRead]
    confirming: tuple[int, str] | None = None
    folders: list[str] = field(default_factory=list)

    @property
    def open_runs(self) -> list[RunRead]:
        """Runs not finished yet."""
        return [r for r in self.runs if r.finished_at is None]


def panel(
    session: Session, runtime: Runtime, number: int, *, confirming: tuple[int, str] | None = None
) -> RunbookPanel:
    """The incident's suggested runbooks and runs."""
    incident = incidents.get_or_404(session, number)
    context = matching_context(incident, alert_context(session, incident))
    cache = cache_of(runtime)
    matches = rank(cache.refresh().runbooks, context, limit=MATCH_LIMIT)
    suggestions = [Suggestion(summary(runtime, m.runbook), m.score, list(m.reasons)) for m in matches]
    runs = [run_read(r) for r in reversed(service.runs_of(session, number))]
    return RunbookPanel(
        incident=incident,
        suggestions=suggestions,
        runs=runs,
        confirming=confirming,
        folders=[str(f) for f in cache.folders],
    )


@dataclass(frozen=True)
class LibraryEntry:
    """A runbook of the library: its summary with lint problems, and how it has served."""

    runbook: RunbookSummary
    stats: RunbookStats | None


@dataclass
class LibraryPage:
    """Every runbook in the configured folders, and runbooks no longer there that have runs."""

    entries: list[LibraryEntry]
    gone: list[RunbookStats]
    folders: list[str]


def library(session: Session, runtime: Runtime) -> LibraryPage:
    """The library with each runbook's lint problems and effectiveness."""
    cache = cache_of(runtime)
    runbooks = cache.refresh().runbooks
    figures = {s.runbook: s for s in effectiveness.stats(session, runbooks, today=runtime.clock.now().date())}
    dupes = duplicate_problems(runbooks)
    entries = []
    for runbook in sorted(runbooks, key=lambda r: (r.id, str(r.path))):
        dupe = dupes.get(id(runbook))
        extra = (
            [] if dupe is None else [ProblemRead(line=1, level=dupe.level.value, code=dupe.code, message=dupe.message)]
        )
        entries.append(LibraryEntry(summary(runtime, runbook, extra), figures.get(runbook.id)))
    gone = [s for s in figures.values() if not s.in_library]
    return LibraryPage(entries=entries, gone=gone, folders=[str(f) for f in cache.folders])


@dataclass
class RunbookPage:
    """One runbook: its summary and problems, its effectiveness, and the file rendered."""

    runbook: RunbookSummary
    stats: RunbookStats | None
    body: Markup
    params: list[dict[str, str | None]]
    match: list[str]


def _source(runbook: Runbook) -> str:
    """The runbook file's text without its front matter (the file the library read, never a path from outside)."""
    path = runbook.path
    if path is None:
        return ""
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(SOURCE_LIMIT + 1)
    except OSError:
        return ""
    if len(raw) > SOURCE_LIMIT:
        return ""
    return _FRONT.sub("", raw.decode("utf-8", errors="replace"), count=1)


def runbook_page(session: Session, runtime: Runtime, name: str) -> RunbookPage:
    """The runbook with id `name` (looked up among the loaded runbooks only), or NotFound."""
    runbook = cache_of(runtime).find(name)
    if runbook.path is None:  # pragma: no cover - the library only holds runbooks read from files
        raise NotFound(f"No runbook {name!r}.", field="name")
    figures = effectiveness.stats(session, [runbook], today=runtime.clock.now().date())
    stats = next((s for s in figures if s.runbook == runbook.id), None)
    front = runbook.front
    return RunbookPage(
        runbook=summary(runtime, runbook),
        stats=stats,
        body=prose(_source(runbook)),
        params=[
            {"name": p.name, "description": p.description, "default": p.default, "pattern": p.pattern}
            for p in front.params
        ],
        match=list(front.match),
    )
