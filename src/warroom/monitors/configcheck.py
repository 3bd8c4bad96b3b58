"""Cross-checks of the `monitors:` section that the schema cannot express, with the line of each problem."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from warroom.configcheck import ConfigProblem, line_of
from warroom.monitors.checks import config_path_problem
from warroom.monitors.schemas import problems

if TYPE_CHECKING:
    import yaml

    from warroom.config import ConfigFile


def check_monitors(parsed: ConfigFile, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """Missing or foreign fields for the monitor's type, unknown severities, duplicate names, log and sqlite files
    outside the folders `monitoring` allows them."""
    found: list[ConfigProblem] = []
    severities = parsed.severity_table().names()
    seen: set[str] = set()
    monitors: list[Any] = list(getattr(parsed, "monitors", []) or [])
    for index, monitor in enumerate(monitors):
        if monitor.name in seen:
            found.append(
                ConfigProblem(
                    path,
                    line_of(root, ("monitors", index, "name")),
                    f"monitors.{index}.name",
                    f"duplicate monitor {monitor.name!r}",
                )
            )
        seen.add(monitor.name)
        found_here = problems(monitor, severities)
        refused = config_path_problem(monitor, parsed.monitoring)
        if refused is not None:
            found_here.append(("path", refused))
        for field, reason in found_here:
            found.append(
                ConfigProblem(path, line_of(root, ("monitors", index, field)), f"monitors.{index}.{field}", reason)
            )
    return found
