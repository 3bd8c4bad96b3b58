"""The small JSONPath subset health endpoints need: `$.status`, `$.checks[0].ok`, `$['db-primary'].state`."""

from __future__ import annotations

import re
from typing import Any

_SEGMENT = re.compile(r"""\.([A-Za-z_][A-Za-z0-9_-]*)|\[(-?\d+)\]|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\]""")

MISSING = object()


def parse_path(path: str) -> list[str | int]:
    """`$.a.b[0]` as ["a", "b", 0]; raises ValueError naming the unreadable part."""
    text = path.strip()
    if not text.startswith("$"):
        raise ValueError(f"invalid JSON path {path!r}: it must start with '$', e.g. $.status")
    position = 1
    parts: list[str | int] = []
    while position < len(text):
        match = _SEGMENT.match(text, position)
        if match is None:
            raise ValueError(f"invalid JSON path {path!r} at {text[position:]!r}: use $.key, $[0] or $['key']")
        name, index, single, double = match.groups()
        if index is not None:
            parts.append(int(index))
        else:
            parts.append(name if name is not None else single if single is not None else double)
        position = match.end()
    return parts


def resolve(document: Any, path: str) -> Any:
    """The value at `path` in `document`, or MISSING."""
    node = document
    for part in parse_path(path):
        if isinstance(part, int):
            if not isinstance(node, list) or not -len(node) <= part < len(node):
                return MISSING
            node = node[part]
        else:
            if not isinstance(node, dict) or part not in node:
                return MISSING
            node = node[part]
    return node


def equals(actual: Any, expected: Any) -> bool:
    """JSON equality, where a number written as text in the config matches the number (and back)."""
    if actual == expected and type(actual) is not bool and type(expected) is not bool:
        return True
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected or str(actual).lower() == str(expected).lower()
    if isinstance(actual, int | float) and isinstance(expected, str):
        try:
            return float(expected) == actual
        except ValueError:
            return False
    if isinstance(expected, int | float) and isinstance(actual, str):
        try:
            return float(actual) == expected
        except ValueError:
            return False
    return bool(actual == expected)
