"""Checks of the `postmortems:` section: the template must parse (its error's line given), severities exist."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from warroom.configcheck import ConfigProblem, line_of
from warroom.postmortems import templates

if TYPE_CHECKING:
    import yaml

    from warroom.config import ConfigFile


def check_postmortems(parsed: ConfigFile, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """A template that cannot be read or parsed, and required_for naming unknown severities."""
    section = parsed.postmortems
    found: list[ConfigProblem] = []
    known = parsed.severity_table().names()
    for index, name in enumerate(section.required_for if "required_for" in section.model_fields_set else ()):
        if name not in known:
            found.append(
                ConfigProblem(
                    path,
                    line_of(root, ("postmortems", "required_for", index)),
                    f"postmortems.required_for.{index}",
                    f"unknown severity {name!r}: expected one of {', '.join(known)}",
                )
            )
    if section.template:
        where = line_of(root, ("postmortems", "template"))
        file = templates.resolve_path(section.template, Path(path).parent)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            found.append(ConfigProblem(path, where, "postmortems.template", f"cannot read {file}: {reason}"))
            return found
        broken = templates.problem(text)
        if broken is not None:
            line, message = broken
            found.append(ConfigProblem(path, where, "postmortems.template", f"{file}, line {line}: {message}"))
    return found


def review_postmortems(parsed: ConfigFile, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """A warning when no severity requires a post-mortem because the default names severities the table lacks."""
    section = parsed.postmortems
    known = parsed.severity_table().names()
    found: list[ConfigProblem] = []
    # The default (P0, P1) names the default severities; a custom table that has neither makes none required.
    if "required_for" not in section.model_fields_set and not set(section.required_for) & set(known):
        found.append(
            ConfigProblem(
                path,
                line_of(root, ("severities",)),
                "postmortems.required_for",
                f"no severity requires a post-mortem: the default names P0 and P1, and severities are "
                f"{', '.join(known)}; set postmortems.required_for",
                level="warning",
            )
        )
    return found
