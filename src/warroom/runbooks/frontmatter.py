"""Reading a runbook's YAML front matter into its FrontMatter; what is wrong with it becomes problems."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import yaml
from markdown_it.token import Token

from warroom.alerts import matchers
from warroom.errors import InvalidInput
from warroom.runbooks.blocktext import normalize_name
from warroom.runbooks.model import FrontMatter, Level, Param
from warroom.timeparse import parse_duration

# Reports a problem: line, level, code, message (the parser's `_Builder.problem`).
ProblemSink = Callable[[int, Level, str, str], None]

# libyaml's safe loader when present: ten times faster than the pure Python one, same safety.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_front_matter(token: Token, front: FrontMatter, problem: ProblemSink) -> None:
    """Fill `front` from a front matter token; what is wrong with it goes to `problem`."""
    front.present = True
    try:
        text = token.content
        data = yaml.load(text, Loader=_YAML_LOADER) if text.strip() else {}  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = 2 + (mark.line if mark is not None else 0)
        if token.map:
            # An error found at the end of the text belongs to its last line, not the closing ---.
            line = max(1, min(line, token.map[1] - 1))
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problem(line, Level.ERROR, "front-matter", f"front matter is not valid YAML: {reason}")
        return
    if not isinstance(data, dict):
        problem(1, Level.ERROR, "front-matter", "front matter must be a mapping of keys to values")
        return
    _read_front(data, front, problem)


def _read_front(data: dict[str, Any], front: FrontMatter, problem: ProblemSink) -> None:
    """Check the known keys of a front matter mapping into `front`; the others go to `front.extra`."""

    def strings(key: str) -> list[str]:
        value = data.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            return [str(v) for v in value]
        problem(1, Level.ERROR, "front-matter", f"front matter {key!r} must be a string or a list")
        return []

    for key in ("id", "title", "severity", "owner"):
        value = data.get(key)
        if value is not None and not isinstance(value, str | int):
            problem(1, Level.ERROR, "front-matter", f"front matter {key!r} must be a string")
        elif value is not None:
            setattr(front, key, str(value))
    front.services = strings("services") or strings("service")
    front.match = strings("match")
    for expression in front.match:
        try:
            matchers.parse_matchers([expression])
        except InvalidInput as exc:
            problem(1, Level.ERROR, "front-matter", f"front matter match {expression!r}: {exc}")
    front.required_sections = strings("required_sections")
    reviewed = data.get("last_reviewed")
    if isinstance(reviewed, datetime):
        front.last_reviewed = reviewed.date()
    elif isinstance(reviewed, date):
        front.last_reviewed = reviewed
    elif isinstance(reviewed, str):
        try:
            front.last_reviewed = date.fromisoformat(reviewed)
        except ValueError:
            problem(1, Level.ERROR, "front-matter", f"last_reviewed {reviewed!r} is not a date (YYYY-MM-DD)")
    elif reviewed is not None:
        problem(1, Level.ERROR, "front-matter", "last_reviewed must be a date (YYYY-MM-DD)")
    every = data.get("review_every")
    if every is not None:
        try:
            # A bare number means days: nobody reviews a runbook every 90 seconds.
            front.review_every = timedelta(days=every) if isinstance(every, int | float) else parse_duration(str(every))
        except ValueError as exc:
            problem(1, Level.ERROR, "front-matter", f"review_every: {exc}")
    front.params = _read_params(data.get("params"), problem)
    known = {"id", "title", "services", "service", "match", "severity", "owner", "last_reviewed"}
    known |= {"review_every", "params", "required_sections"}
    front.extra = {k: v for k, v in data.items() if k not in known}


def _read_params(raw: Any, problem: ProblemSink) -> list[Param]:
    if raw is None:
        return []
    items: list[tuple[str, Any]] = []
    if isinstance(raw, dict):
        items = [(str(k), v) for k, v in raw.items()]
    elif isinstance(raw, list):
        for entry in raw:
            if isinstance(entry, str):
                items.append((entry, {}))
            elif isinstance(entry, dict) and "name" in entry:
                items.append((str(entry["name"]), entry))
            else:
                problem(1, Level.ERROR, "front-matter", "each param needs a name")
    else:
        problem(1, Level.ERROR, "front-matter", "params must be a list or a mapping")
    params: list[Param] = []
    for name, spec in items:
        spec = spec if isinstance(spec, dict) else {"default": spec}
        pattern = spec.get("pattern")
        if pattern is not None:
            try:
                re.compile(str(pattern))
            except re.error as exc:
                problem(1, Level.ERROR, "front-matter", f"param {name!r} pattern is not a regex: {exc}")
                pattern = None
        default = spec.get("default")
        params.append(
            Param(
                name=name if name.isupper() else normalize_name(name),
                description=str(spec.get("description") or ""),
                default=None if default is None else str(default),
                pattern=None if pattern is None else str(pattern),
            )
        )
    return params
