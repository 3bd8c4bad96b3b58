"""Times people type for `--at`, `--from` and `--to`: ISO 8601, `now`, or an offset like +2d, -3h."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from warroom.errors import InvalidInput
from warroom.timeparse import parse_duration


def parse_time(text: str | None, now: datetime, *, field: str, tz: str = "UTC") -> datetime:
    """`text` as aware UTC; a time without an offset is read in `tz` (the schedule's zone)."""
    if text is None or not text.strip() or text.strip().lower() == "now":
        return now
    value = text.strip()
    if value[0] in "+-":
        try:
            delta = parse_duration(value[1:])
        except ValueError as exc:
            raise InvalidInput(str(exc), field=field) from None
        return now + delta if value[0] == "+" else now - delta
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"Invalid time {text!r}: use ISO 8601 (2026-03-29T09:00, with +02:00 or Z for an offset), now, +2d or -3h.",
            field=field,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed.astimezone(UTC)
