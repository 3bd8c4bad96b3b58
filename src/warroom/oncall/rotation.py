"""Who is on call when: rotation arithmetic, restrictions, layers, iCal events and overrides. Pure functions.

Shifts of whole days, or of hours that divide a day, follow the wall clock of the schedule's time zone:
a daily 09:00 hand-off stays at 09:00 across DST changes (the shift is 23 or 25 hours long that day).
Other lengths (e.g. 7h) are counted in elapsed time from the rotation's start.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from warroom.oncall.config_models import LayerConfig, RestrictionConfig, RotationConfig, parse_clock, parse_handoff
from warroom.timeparse import parse_duration


@dataclass(frozen=True)
class Shift:
    """`user` is on call from `start` to `end` (aware UTC) because of `source` (a layer, ical, override)."""

    start: datetime
    end: datetime
    user: str
    source: str


def _aware(local: datetime, tz: ZoneInfo) -> datetime:
    # fold=0: a wall time that happens twice is its first occurrence; one skipped by DST maps forward.
    return local.replace(tzinfo=tz).astimezone(UTC)


def rotation_shifts(rotation: RotationConfig, tz: ZoneInfo, start: datetime, end: datetime, source: str) -> list[Shift]:
    """The rotation's shifts that overlap [start, end)."""
    hours = int(parse_duration(rotation.shift).total_seconds() // 3600)
    weekday, handoff = parse_handoff(rotation.handoff)
    anchor_date = rotation.start
    if weekday is not None:
        anchor_date += timedelta(days=(weekday - anchor_date.weekday()) % 7)
    anchor_local = datetime.combine(anchor_date, handoff)
    step = timedelta(hours=hours)
    people = rotation.participants
    shifts: list[Shift] = []
    wall_clock = hours % 24 == 0 or 24 % hours == 0
    if wall_clock:
        # Naive (wall-clock) arithmetic: the k-th hand-off is at anchor + k*shift on the local clock.
        local_start = start.astimezone(tz).replace(tzinfo=None)
        k = math.floor((local_start - anchor_local) / step) - 1
        while True:
            begin = _aware(anchor_local + k * step, tz)
            finish = _aware(anchor_local + (k + 1) * step, tz)
            if begin >= end:
                break
            if finish > start and finish > begin:
                shifts.append(Shift(begin, finish, people[k % len(people)], source))
            k += 1
    else:
        anchor = _aware(anchor_local, tz)
        k = math.floor((start - anchor) / step)
        while anchor + k * step < end:
            begin, finish = anchor + k * step, anchor + (k + 1) * step
            if finish > start:
                shifts.append(Shift(begin, finish, people[k % len(people)], source))
            k += 1
    return shifts


def restriction_windows(
    restrictions: Sequence[RestrictionConfig], tz: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The times [start, end) that the restrictions allow, merged and sorted."""
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    windows: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        name = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
        for rule in restrictions:
            if name in rule.days:
                begin = _aware(datetime.combine(day, parse_clock(rule.start)), tz)
                finish_clock = parse_clock(rule.end)
                if finish_clock == time(23, 59, 59, 999999):
                    finish = _aware(datetime.combine(day + timedelta(days=1), time(0)), tz)
                else:
                    finish = _aware(datetime.combine(day, finish_clock), tz)
                windows.append((max(begin, start), min(finish, end)))
        day += timedelta(days=1)
    return _merge_windows([w for w in windows if w[0] < w[1]])


def _merge_windows(windows: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for begin, finish in sorted(windows):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


def restrict(shifts: Iterable[Shift], windows: list[tuple[datetime, datetime]]) -> list[Shift]:
    """The parts of `shifts` inside `windows`."""
    result: list[Shift] = []
    for shift in shifts:
        for begin, finish in windows:
            lo, hi = max(shift.start, begin), min(shift.end, finish)
            if lo < hi:
                result.append(Shift(lo, hi, shift.user, shift.source))
    return result


def layer_name(layer: LayerConfig, index: int) -> str:
    """How a layer is called in answers: its name, else `layer N`."""
    return layer.name or f"layer {layer.level or index + 1}"


def layer_shifts(layer: LayerConfig, index: int, tz: ZoneInfo, start: datetime, end: datetime) -> list[Shift]:
    """A layer's shifts in [start, end), cut to its restrictions."""
    shifts = rotation_shifts(layer.rotation, tz, start, end, layer_name(layer, index))
    if layer.restrictions:
        shifts = restrict(shifts, restriction_windows(layer.restrictions, tz, start, end))
    return shifts


def combine(sources: Sequence[Sequence[Shift]], start: datetime, end: datetime) -> list[Shift]:
    """Paint `sources` from the lowest to the highest priority: the highest one with someone wins.

    Adjacent pieces with the same person and source are joined.
    """
    points = {start, end}
    for shifts in sources:
        for shift in shifts:
            if shift.start < end and shift.end > start:
                points.add(max(shift.start, start))
                points.add(min(shift.end, end))
    ordered = sorted(points)
    result: list[Shift] = []
    for begin, finish in itertools.pairwise(ordered):
        winner: Shift | None = None
        for shifts in reversed(sources):
            winner = next((s for s in shifts if s.start <= begin and s.end >= finish), None)
            if winner is not None:
                break
        if winner is None:
            continue
        last = result[-1] if result else None
        if last is not None and last.end == begin and last.user == winner.user and last.source == winner.source:
            result[-1] = Shift(last.start, finish, last.user, last.source)
        else:
            result.append(Shift(begin, finish, winner.user, winner.source))
    return result


# -- iCal -------------------------------------------------------------------------------------------------------

_CALENDARS: OrderedDict[str, Any] = OrderedDict()


def _calendar(text: str) -> Any:
    """Parsed calendar, cached by content (a schedule is asked who is on call at every escalation step)."""
    import icalendar

    digest = hashlib.sha256(text.encode()).hexdigest()
    cached = _CALENDARS.get(digest)
    if cached is None:
        cached = icalendar.Calendar.from_ical(text)
        _CALENDARS[digest] = cached
        while len(_CALENDARS) > 64:
            _CALENDARS.popitem(last=False)
    else:
        _CALENDARS.move_to_end(digest)
    return cached


def parse_ical(text: str) -> None:
    """Raise ValueError when `text` is not an iCalendar document with events."""
    try:
        calendar = _calendar(text)
    except Exception:  # icalendar raises ValueError and friends on garbage
        # Never quote the parser's message: it carries the offending line, and the text may be a file or an
        # answer the caller should not be able to read through this error.
        raise ValueError("not an iCalendar file (expected BEGIN:VCALENDAR ... END:VCALENDAR)") from None
    if not any(True for _ in calendar.walk("VEVENT")):
        raise ValueError("the calendar has no events (VEVENT)")


def _as_utc(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # floating time: the schedule's zone
            return _aware(value, tz)
        return value.astimezone(UTC)
    return _aware(datetime.combine(value, time(0)), tz)


def ical_shifts(
    text: str, tz: ZoneInfo, start: datetime, end: datetime, resolve_user: Any, source: str = "ical"
) -> tuple[list[Shift], list[str]]:
    """Events of the calendar in [start, end) as shifts (RRULE, EXDATE, RECURRENCE-ID expanded).

    The event's summary names the user; `resolve_user(summary)` gives the user id or None.
    Returns the shifts and the summaries that named nobody.
    """
    import recurring_ical_events

    calendar = _calendar(text)
    shifts: list[Shift] = []
    unknown: list[str] = []
    for event in recurring_ical_events.of(calendar).between(start, end):
        summary = str(event.get("SUMMARY", "")).strip()
        user = resolve_user(summary)
        if user is None:
            if summary not in unknown:
                unknown.append(summary)
            continue
        begin_value = event.get("DTSTART").dt
        end_prop = event.get("DTEND")
        if end_prop is not None:
            finish_value = end_prop.dt
        elif event.get("DURATION") is not None:
            finish_value = begin_value + event.get("DURATION").dt
        else:
            finish_value = begin_value + timedelta(days=1) if not isinstance(begin_value, datetime) else begin_value
        begin, finish = _as_utc(begin_value, tz), _as_utc(finish_value, tz)
        if begin < end and finish > start and begin < finish:
            shifts.append(Shift(begin, finish, user, source))
    shifts.sort(key=lambda s: (s.start, s.end))
    return shifts, unknown


def export_ical(name: str, shifts: Sequence[Shift], uid_prefix: str, now: datetime) -> str:
    """Shifts as an iCalendar feed, one event per shift (the summary names the user)."""
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//warroom//on-call//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    for shift in shifts:
        event = icalendar.Event()
        event.add("uid", f"{uid_prefix}-{shift.user}-{int(shift.start.timestamp())}@warroom")
        event.add("summary", shift.user)
        event.add("description", f"on call ({shift.source})")
        event.add("dtstart", shift.start)
        event.add("dtend", shift.end)
        event.add("dtstamp", now)
        calendar.add_component(event)
    return str(calendar.to_ical().decode())
