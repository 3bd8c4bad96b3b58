"""Runbooks: Markdown runbooks on disk, matched to incidents, their steps run with the output kept."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

    from warroom.configcheck import ConfigProblem


def _register_config_checks() -> None:
    # Registered here, where the package is imported, so that every check is known before a file is checked
    # (config.py imports each domain's sections); the checks' module is imported only when a file is checked.
    from warroom import configcheck

    def review(parsed: Any, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
        from warroom.runbooks.config_checks import review_runbooks

        return review_runbooks(parsed, root, path)

    configcheck.register("runbooks", review, review=True)


_register_config_checks()
