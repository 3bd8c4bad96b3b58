"""What `warroom config check` reports beyond what loading the file needs: routes naming policies and runbooks
that do not exist, and severities that page while no policy is defined.

Loading does not refuse these (an alert is never refused over paging; policies may come from the API), so
they live here, where a person or CI asks for a full review of the file."""

from __future__ import annotations

from pathlib import Path

import yaml

from warroom.config import ConfigFile, ConfigProblem, _line_of


def review(parsed: ConfigFile, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """Problems and warnings about what the file's routes and severities lead to."""
    problems = _route_policies(parsed, root, path)
    problems += _route_runbooks(parsed, root, path)
    paging = [s.name for s in parsed.severity_table() if s.page]
    if paging and not parsed.policies:
        problems.append(
            ConfigProblem(
                path,
                None,
                "",
                f"severities {', '.join(paging)} page, but no policy is defined: nobody will be paged "
                "(define a policy called `default`, see docs/oncall.md)",
                level="warning",
            )
        )
    return problems


def _route_policies(parsed: ConfigFile, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    known = sorted(p.id for p in parsed.policies)
    return [
        ConfigProblem(
            path,
            _line_of(root, ("routes", index, "policy")),
            f"routes.{index}.policy",
            f"unknown policy {route.policy!r}: "
            + (f"expected one of {', '.join(known)}" if known else "no policy is defined under policies:"),
        )
        for index, route in enumerate(parsed.routes)
        if route.policy and route.policy not in known
    ]


def _route_runbooks(parsed: ConfigFile, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
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
            _line_of(root, ("routes", index, "runbook")),
            f"routes.{index}.runbook",
            f"unknown runbook {runbook!r}: no runbook has this id in {where}",
        )
        for index, runbook in wanted
        if runbook not in known
    ]
