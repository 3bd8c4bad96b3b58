"""Cross-checks of the alerts sections that the schema cannot express (duplicate names, unknown services)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from warroom.configcheck import ConfigProblem, line_of

if TYPE_CHECKING:
    import yaml

    from warroom.config import ConfigFile


def check_alerts_config(parsed: ConfigFile, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """Duplicate route and integration names; services that routes name but `services:` does not list."""
    problems: list[ConfigProblem] = []
    known_services = {s.name for s in parsed.services}
    seen: set[str] = set()
    for index, route in enumerate(parsed.routes):
        if route.name in seen:
            problems.append(
                ConfigProblem(
                    path,
                    line_of(root, ("routes", index, "name")),
                    f"routes.{index}.name",
                    f"duplicate route {route.name!r}",
                )
            )
        seen.add(route.name)
        if route.service and known_services and route.service not in known_services:
            problems.append(
                ConfigProblem(
                    path,
                    line_of(root, ("routes", index, "service")),
                    f"routes.{index}.service",
                    f"unknown service {route.service!r}: add it under services: or fix the name",
                )
            )
    names: set[str] = set()
    for index, integration in enumerate(parsed.integrations):
        if integration.name in names:
            problems.append(
                ConfigProblem(
                    path,
                    line_of(root, ("integrations", index, "name")),
                    f"integrations.{index}.name",
                    f"duplicate integration {integration.name!r}",
                )
            )
        names.add(integration.name)
    return problems
