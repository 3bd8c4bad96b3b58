"""On-call: people, teams, schedules (rotations, layers, overrides, iCal), escalation policies and paging."""

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
        from warroom.oncall.config_checks import check_oncall

        return check_oncall(parsed, root, path)

    def review(parsed: Any, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
        from warroom.oncall.config_checks import review_oncall

        return review_oncall(parsed, root, path)

    configcheck.register("oncall", check)
    configcheck.register("oncall", review, review=True)


_register_config_checks()
