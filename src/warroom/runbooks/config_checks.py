"""What `warroom config check` reports about the runbooks routes name: a runbook id no folder holds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from warroom.configcheck import ConfigProblem, line_of

if TYPE_CHECKING:
    import yaml

    from warroom.config import ConfigFile


def review_runbooks(parsed: ConfigFile, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """Routes naming a runbook that no runbook folder holds (loading accepts them: the folder may be filled
    later, and an alert is never refused over its runbook)."""
    wanted = [(index, route.runbook) for index, route in enumerate(parsed.routes) if route.runbook]
    if not wanted:
        return []
    from warroom.runbooks import library

    base = Path(path).parent
    folders = [f if f.is_absolute() else base / f for f in map(Path, parsed.runbooks.folders)]
    folders = library.dirs_from_env(folders)
    present = [f for f in folders if f.exists()]
    known = {r.id for r in library.load(present).runbooks} if present else set()
    where = ", ".join(str(f) for f in folders) or "no runbook folder (runbooks.folders, WARROOM_RUNBOOK_DIRS)"
    return [
        ConfigProblem(
            path,
            line_of(root, ("routes", index, "runbook")),
            f"routes.{index}.runbook",
            f"unknown runbook {runbook!r}: no runbook has this id in {where}",
        )
        for index, runbook in wanted
        if runbook not in known
    ]
