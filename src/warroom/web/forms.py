"""Times and durations typed in console forms, checked: a 422 naming the field, never an overflow's 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import AfterValidator

from warroom.errors import InvalidInput
from warroom.oncall.timeinput import parse_time
from warroom.timeparse import parse_duration

# Far enough for any plan, near enough that adding a duration (at most 100 years) never leaves datetime's range.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def form_duration(text: str, field: str) -> timedelta | None:
    """A duration typed in a form (`2h`, `1d`), None when empty; InvalidInput naming the field otherwise."""
    if not text.strip():
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise InvalidInput(f"{field}: {exc}", field=field) from None


def _bounded(value: datetime, field: str) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise InvalidInput(f"{field}: give a time between 2000 and 2200.", field=field)
    return value


def form_time(text: str, field: str) -> datetime:
    """A time from a datetime-local field (read as UTC) or ISO 8601 with an offset, between 2000 and 2200."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{field}: expected a time like 2026-03-29T09:00 (UTC).", field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return _bounded(parsed.astimezone(UTC), field)
    except OverflowError:
        raise InvalidInput(f"{field}: give a time between 2000 and 2200.", field=field) from None


def schedule_time(text: str, base: datetime, field: str, tz: str) -> datetime:
    """`now`, `+8h`/`-1h` from `base`, or ISO 8601 (in the schedule's zone `tz` without an offset), bounded."""
    try:
        return _bounded(parse_time(text, base, field=field, tz=tz), field)
    except OverflowError:
        raise InvalidInput(f"{field}: give a time between 2000 and 2200.", field=field) from None


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


# A form field's extra check: no NUL (the input guard checks JSON bodies only, and PostgreSQL text refuses NUL).
NoNul = AfterValidator(_no_nul)
