"""Cross-checks of the `status_page:` section: unknown groups, duplicate names, services nobody declared."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from warroom.configcheck import ConfigProblem, line_of

if TYPE_CHECKING:
    import yaml


def _problem(
    root: yaml.Node | None, path: str, loc: tuple[int | str, ...], message: str, level: str = "error"
) -> ConfigProblem:
    return ConfigProblem(path, line_of(root, loc), ".".join(str(p) for p in loc), message, level)


def check_status_page(parsed: Any, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """Duplicate group or component names, and components naming a group that is not declared."""
    section = parsed.status_page
    problems: list[ConfigProblem] = []
    groups: set[str] = set()
    for index, group in enumerate(section.groups):
        if group.name in groups:
            problems.append(
                _problem(root, path, ("status_page", "groups", index, "name"), f"duplicate group {group.name!r}")
            )
        groups.add(group.name)
    names: set[str] = set()
    for index, component in enumerate(section.components):
        if component.name in names:
            problems.append(
                _problem(
                    root, path, ("status_page", "components", index, "name"), f"duplicate component {component.name!r}"
                )
            )
        names.add(component.name)
        if component.group is not None and component.group not in groups:
            problems.append(
                _problem(
                    root,
                    path,
                    ("status_page", "components", index, "group"),
                    f"unknown group {component.group!r}: declare it under status_page.groups",
                )
            )
    return problems


def review_status_page(parsed: Any, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """Warnings: a component naming a service that no service, monitor or integration declares."""
    declared = {s.name for s in parsed.services} | {m.service for m in parsed.monitors if getattr(m, "service", None)}
    if not declared:
        return []
    problems: list[ConfigProblem] = []
    for index, component in enumerate(parsed.status_page.components):
        for s_index, service in enumerate(component.services):
            if service not in declared:
                problems.append(
                    _problem(
                        root,
                        path,
                        ("status_page", "components", index, "services", s_index),
                        f"service {service!r} is not declared under services or monitors",
                        "warning",
                    )
                )
    return problems


def review_held_components(parsed: Any, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """Warnings: components taken out of the file that sync keeps because an open public incident affects them.

    Read from the configured database (WARROOM_DATABASE_URL, or the SQLite file in the data folder) when it
    is there; a check run without one (CI, a fresh checkout) says nothing about it."""
    from pathlib import Path

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import NullPool

    from warroom.config import Settings
    from warroom.statuspage import components

    try:
        url = make_url(Settings().resolved_database_url())
    except Exception:  # settings that do not load are reported by whoever loads them
        return []
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        return []  # never create a database file just to look into it
    connect_args = {"connect_timeout": 3} if url.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with Session(engine) as session:
            held = components.held_back(session, parsed.status_page)
    except SQLAlchemyError:
        return []  # not reachable or not migrated: nothing to say
    finally:
        engine.dispose()
    return [
        _problem(
            root,
            path,
            ("status_page", "components"),
            f"component {name!r} is no longer in this file but is kept: "
            + ", ".join(f"open public incident {number} ({title!r})" for number, title in holding)
            + " still affects it; it is removed at the first start after they are resolved",
            "warning",
        )
        for name, holding in held
    ]
