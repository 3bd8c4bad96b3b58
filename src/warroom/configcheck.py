"""The config file's checks: each problem with its line, and the registry where domains plug in theirs.

Core: this module knows no domain. A domain registers its checks when its package is imported (its
`__init__.py`), as it registers timeline hooks and jobs in `install(runtime)`; `config.py` composes the file
from the domains' sections, which imports every domain package, so every check is registered before a file
is checked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in the config file, with where it is."""

    path: str
    line: int | None
    location: str
    message: str
    level: str = "error"  # or "warning": reported by `config check`, never refuses the file

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.location}: {self.message}" if self.location else f"{where}: {self.message}"


class ConfigError(Exception):
    """The config file cannot be used; carries every problem found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at `loc`, or of the deepest ancestor found."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            if match is None:
                key_node = next((k for k, _ in node.value if getattr(k, "value", None) == key), None)
                return key_node.start_mark.line + 1 if key_node is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return line
        line = node.start_mark.line + 1
    return line


# A check gets the validated file (a `warroom.config.ConfigFile`: Any here, because the core cannot name the
# class that composes the domains' sections), its YAML tree for lines, and the file's path.
Check = Callable[[Any, yaml.Node | None, str], list[ConfigProblem]]

# Keyed by name, run in name order: the order of the problems must not depend on which domain happened to be
# imported first. Loading refuses a file with a problem from LOAD_CHECKS; REVIEW_CHECKS are what only
# `warroom config check` reports (an alert is never refused over paging; policies may come from the API).
LOAD_CHECKS: dict[str, Check] = {}
REVIEW_CHECKS: dict[str, Check] = {}


def register(name: str, check: Check, *, review: bool = False) -> None:
    """Run `check` on every config file: when it is loaded, or (`review`) only in `warroom config check`."""
    (REVIEW_CHECKS if review else LOAD_CHECKS)[name] = check


def run(parsed: Any, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """The problems the domains' load checks find, in the checks' name order."""
    return [problem for _name, check in sorted(LOAD_CHECKS.items()) for problem in check(parsed, root, path)]


def review(parsed: Any, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """Problems and warnings about what the file leads to (routes naming policies and runbooks that do not
    exist, severities that page while no policy is defined), beyond what loading the file needs."""
    return [problem for _name, check in sorted(REVIEW_CHECKS.items()) for problem in check(parsed, root, path)]
