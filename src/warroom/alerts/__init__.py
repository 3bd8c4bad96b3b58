"""Alert intake: integrations and their formats, dedup, routing, silences, maintenance, inhibition, grouping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

    from warroom.configcheck import ConfigProblem


def _register_config_checks() -> None:
    # Registered here, where the package is imported, so that every check is known before a file is checked
    # (config.py imports each domain's sections); the checks' modules are imported only when a file is checked.
    from warroom import configcheck

    def check(parsed: Any, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
        from warroom.alerts.config_checks import check_alerts_config

        return check_alerts_config(parsed, root, path)

    configcheck.register("alerts", check)


_register_config_checks()
