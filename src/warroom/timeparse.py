"""Parsing the short durations people write in config and on the command line: 30s, 5m, 2h, 1d, 1w, 1h30m."""

from __future__ import annotations

import re
from datetime import timedelta

# Longer than anything warroom waits for, and short enough that `now + duration` is always a valid datetime (a
# duration of 1e20 s overflowed timedelta, and 9999 years overflowed the addition: both were 500s).
MAX_DURATION = timedelta(days=100 * 366)

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """`text` as a timedelta; a bare number is seconds. Raises ValueError with the accepted forms."""
    if isinstance(text, timedelta):
        return _bounded(text.total_seconds(), text)
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"duration {text} is negative")
        return _bounded(text, text)
    cleaned = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):
        return _bounded(float(cleaned), text)
    if not cleaned or _PART.sub("", cleaned):
        raise ValueError(f"invalid duration {text!r}: use a number with a unit, e.g. 30s, 5m, 2h, 1d, 1w, 1h30m")
    seconds = sum(float(value) * _UNIT_SECONDS[unit] for value, unit in _PART.findall(cleaned))
    return _bounded(seconds, text)


def _bounded(seconds: float, text: object) -> timedelta:
    if not seconds <= MAX_DURATION.total_seconds():  # `not <=` also refuses NaN and infinity
        raise ValueError(f"duration {text!r} is too long: at most 100 years")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta | float | None) -> str:
    """A short human form: 45s, 12m, 1h 05m, 2d 3h."""
    if delta is None:
        return "-"
    seconds = int(delta.total_seconds() if isinstance(delta, timedelta) else delta)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s" if secs else f"{sign}{minutes}m"
    return f"{sign}{secs}s"
