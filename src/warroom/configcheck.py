"""The config file's checks: each problem with its line, and the registry where domains plug in theirs.

Core: this module knows no domain. A domain registers its checks beside its sections (its `config.py` or
the module that declares them), as it registers timeline hooks and jobs in `install(runtime)`; `config.py`
composes the file from those sections, so every check is registered before a file is checked, and a client
command that never reads the file imports no check."""

from __future__ import annotations

import importlib
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

# "module:function" by name, run in name order: the order of the problems must not depend on which domain
# happened to be imported first. Loading refuses a file with a problem from a load check; review checks are
# what only `warroom config check` reports (an alert is never refused over paging; policies may come from
# the API). A check's module is imported when a file is checked: some need their domain's service.
_LOAD: dict[str, str] = {}
_REVIEW: dict[str, str] = {}


def register(name: str, target: str, *, review: bool = False) -> None:
    """Run the check at `target` ("module:function") on every config file: when it is loaded, or (`review`)
    only in `warroom config check`."""
    (_REVIEW if review else _LOAD)[name] = target


def _checks(registered: dict[str, str]) -> list[Check]:
    found: list[Check] = []
    for _name, target in sorted(registered.items()):
        module, _, function = target.partition(":")
        found.append(getattr(importlib.import_module(module), function))
    return found


def run(parsed: Any, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """The problems the domains' load checks find, in the checks' name order."""
    return [problem for check in _checks(_LOAD) for problem in check(parsed, root, path)]


def review(parsed: Any, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """Problems and warnings about what the file leads to (routes naming policies and runbooks that do not
    exist, severities that page while no policy is defined), beyond what loading the file needs."""
    return [problem for check in _checks(_REVIEW) for problem in check(parsed, root, path)]
