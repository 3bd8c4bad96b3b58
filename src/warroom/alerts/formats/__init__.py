"""Payload formats: each module turns one sender's JSON into IncomingAlerts or raises FormatError."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from warroom.alerts.schemas import IncomingAlert


class FormatError(Exception):
    """The body is JSON but not the shape the integration's type expects (answered 422, naming the field)."""

    def __init__(self, field: str, message: str, *, reason: str = "invalid_payload") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        self.reason = reason


Parser = Callable[[Any, dict[str, Any]], list[IncomingAlert]]

# Go's zero time, which Alertmanager sends as endsAt while an alert fires.
_ZERO_YEAR = 1
_FRACTION = re.compile(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$")


def parse_time(value: Any, field: str) -> datetime | None:
    """An RFC 3339 time as aware UTC: nanoseconds, offsets and `Z` accepted; Go's zero time and "" are None."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value  # milliseconds from some senders
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):  # beyond year 9999 (or NaN): the sender's error, not ours
            raise FormatError(field, f"{value!r} is not a time warroom can store") from None
    if not isinstance(value, str):
        raise FormatError(field, "expected an RFC 3339 time string")
    text = value.strip()
    if text.startswith("0001-01-01"):
        return None
    try:  # the common case (up to microseconds, `Z` or an offset) without the regex below
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
    except ValueError:
        pass
    match = _FRACTION.match(text)
    if match is not None:
        head, fraction, tail = match.groups()
        # Python keeps microseconds: cut nanoseconds rather than refuse them.
        text = head + (fraction[:7] if fraction else "") + (tail or "")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise FormatError(field, f"{value!r} is not an RFC 3339 time") from None
    if parsed.year <= _ZERO_YEAR:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def string_map(value: Any, field: str) -> dict[str, str]:
    """A JSON object of strings (numbers and booleans are turned into text; null values dropped)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FormatError(field, "expected an object of strings")
    out: dict[str, str] = {}
    for key, item in value.items():
        if item is None:
            continue
        if isinstance(item, dict | list):
            import json

            out[str(key)] = json.dumps(item, sort_keys=True, default=str)
        elif isinstance(item, bool):
            out[str(key)] = "true" if item else "false"
        else:
            out[str(key)] = str(item)
    return out


def require_object(body: Any) -> dict[str, Any]:
    """The body as a JSON object, or FormatError."""
    if not isinstance(body, dict):
        raise FormatError("", "the body must be a JSON object")
    return body


def parser_for(kind: str) -> Parser:
    """The parser of an integration type."""
    from warroom.alerts.formats import alertmanager, generic, grafana, pagerduty

    parsers: dict[str, Parser] = {
        "alertmanager": alertmanager.parse,
        "grafana": grafana.parse,
        "pagerduty": pagerduty.parse,
        "generic": generic.parse,
        "monitor": generic.parse,
    }
    return parsers[kind]
