"""One line for a YAML syntax error, with the line where the broken construct starts."""

from __future__ import annotations

import yaml


def describe(exc: yaml.YAMLError) -> tuple[int | None, str]:
    """(1-based line or None, `not valid YAML: ...`). An unclosed `[` is found only at the end of the file:
    the line given is where the construct started when PyYAML knows it."""
    context, problem = getattr(exc, "context", None), getattr(exc, "problem", None)
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    if problem is None:
        return line, f"not valid YAML: {' '.join(str(exc).split())}"
    return line, f"not valid YAML: {problem}" + (f" ({context})" if context else "")
