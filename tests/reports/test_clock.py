"""The on-call load's night test without a datetime per page gives the hour datetime would, DST days included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from warroom.reports.load import _Clock

# Days when these zones change their offset (one of them by 30 minutes), and an ordinary day.
DAYS = (
    ("Europe/Paris", "2026-03-29"),
    ("Europe/Paris", "2026-10-25"),
    ("America/New_York", "2026-11-01"),
    ("Australia/Lord_Howe", "2026-04-05"),
    ("Asia/Kolkata", "2026-06-01"),
)


@pytest.mark.parametrize(("zone", "day"), DAYS)
def test_hour_on_a_persons_clock_matches_datetime_across_offset_changes(zone: str, day: str) -> None:
    tz = ZoneInfo(zone)
    clock = _Clock(tz)
    ats, expected = [], []
    start = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(days=1)
    for minute in range(0, 3 * 24 * 60, 5):
        for nudge in (0.0, -3e-7, 3e-7, -0.4, 0.6):  # julianday arithmetic lands a hair off whole seconds
            ats.append(start.timestamp() + minute * 60 + nudge)
            expected.append(datetime.fromtimestamp(ats[-1], tz=tz).hour)
    got = clock.hours(np.array(ats)).tolist()
    # The mismatches only: pytest's diff of two 4,320-item lists takes minutes when CI=true disables truncation.
    wrong = [(at, hour, want) for at, hour, want in zip(ats, got, expected, strict=True) if hour != want]
    assert wrong == [], f"{zone}: {len(wrong)} hours differ from datetime's, the first (at, got, expected): {wrong[:3]}"
