"""Runbooks loaded from folders and files: found by id or by path, duplicates reported."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from warroom.errors import NotFound
from warroom.runbooks.model import Runbook
from warroom.runbooks.parser import gc_paused, parse_file

SUFFIXES = (".md", ".markdown")
ENV_DIRS = "WARROOM_RUNBOOK_DIRS"


def discover(paths: Iterable[Path | str]) -> list[Path]:
    """Runbook files under `paths`: folders are searched recursively for .md/.markdown; files given by
    name are taken whatever their suffix (a .txt runbook is fine when named explicitly)."""
    found: list[Path] = []
    seen: set[str] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in SUFFIXES and p.is_file() and not any(part.startswith(".") for part in p.parts)
            )
        elif path.exists():
            candidates = [path]
        else:
            raise NotFound(f"no runbook file or folder at {path}", field="path")
        for candidate in candidates:
            # The resolved path as text: what Path.resolve() gives without making a Path of it and stat()ing it
            # again to report a symlink loop (there is none: the file was just found to exist).
            key = os.path.realpath(candidate)
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found


@dataclass
class Library:
    """A set of parsed runbooks."""

    runbooks: list[Runbook] = field(default_factory=list)

    def by_id(self, runbook_id: str) -> Runbook | None:
        """The first runbook with this id, or None."""
        for runbook in self.runbooks:
            if runbook.id == runbook_id:
                return runbook
        return None

    def by_path(self, path: Path | str) -> Runbook | None:
        """The runbook read from this file, or None."""
        wanted = Path(path).resolve()
        for runbook in self.runbooks:
            if runbook.path is not None and runbook.path.resolve() == wanted:
                return runbook
        return None

    def find(self, ref: str) -> Runbook:
        """A runbook by id or by path; raises NotFound with what was searched."""
        found = self.by_id(ref) or self.by_path(ref)
        if found is None:
            known = ", ".join(sorted(r.id for r in self.runbooks)[:10]) or "none loaded"
            raise NotFound(f"no runbook {ref!r} (known ids: {known})", field="runbook")
        return found

    def duplicates(self) -> dict[str, list[Runbook]]:
        """Ids used by more than one file, with those files."""
        by_id: dict[str, list[Runbook]] = {}
        for runbook in self.runbooks:
            by_id.setdefault(runbook.id, []).append(runbook)
        return {rid: same for rid, same in by_id.items() if len(same) > 1}


def load(paths: Iterable[Path | str]) -> Library:
    """Parse every runbook under `paths`, in one process. A pool of two workers, tried and not kept, took
    1.8-1.9 s instead of 2.2-2.7 s for 1,000 files on two shared cores, for a third more CPU in all; the
    server's library (cache.py) parses file by file and would not use it."""
    files = discover(paths)
    # One pause for the whole batch (see gc_paused): parsing leaves no cycles for the collector to find,
    # and its full passes would walk the runbooks parsed so far again and again as they pile up.
    with gc_paused():
        return Library([parse_file(path) for path in files])


def dirs_from_env(extra: Sequence[Path | str] = ()) -> list[Path]:
    """Folders from `--dir` options, then from WARROOM_RUNBOOK_DIRS (colon-separated)."""
    folders = [Path(p) for p in extra]
    folders.extend(Path(p) for p in os.environ.get(ENV_DIRS, "").split(":") if p.strip())
    return folders


def resolve(ref: str, dirs: Sequence[Path | str] = ()) -> Runbook:
    """A runbook named by a path to a file, or by an id searched in `dirs` and WARROOM_RUNBOOK_DIRS."""
    candidate = Path(ref)
    if candidate.is_file():
        return parse_file(candidate)
    folders = [d for d in dirs_from_env(dirs) if Path(d).is_dir()]
    if not folders:
        raise NotFound(
            f"no runbook file {ref!r}, and no folder to look for the id in: pass --dir or set {ENV_DIRS}",
            field="runbook",
        )
    return load(folders).find(ref)
