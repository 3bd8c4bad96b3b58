"""What the On call page shows: who is on call now per schedule, the next two weeks day by day, my contact methods."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from warroom.notify import contacts as notify_contacts
from warroom.notify.apprise_send import mask_url
from warroom.oncall import service as oncall
from warroom.oncall.rotation import Shift
from warroom.web.people import oncall_user_of

DAYS = 14


@dataclass
class DayRow:
    """One day of a schedule (in its time zone): the shifts that overlap it, clipped to the day."""

    day: date
    shifts: list[tuple[str, str, str, bool]]  # (user, from HH:MM, until HH:MM, is an override)


@dataclass
class ScheduleView:
    """A schedule, who is on call now, and its next days."""

    id: str
    name: str
    timezone: str
    now: Shift | None
    days: list[DayRow]
    overrides: list[tuple[int, str, datetime, datetime, str, str]]  # id, user, start, end, note, by
    unknown_names: list[str] = field(default_factory=list)


@dataclass
class OncallPage:
    """Everything the page lists."""

    schedules: list[ScheduleView]
    users: list[str]
    me_linked: bool
    my_contacts: list[tuple[str, str]]  # (label, masked url)


def _days(shifts: list[Shift], tz: ZoneInfo, first: date) -> list[DayRow]:
    rows = []
    for offset in range(DAYS):
        day = first + timedelta(days=offset)
        start = datetime.combine(day, time(), tz)
        end = datetime.combine(day + timedelta(days=1), time(), tz)
        cells = []
        for shift in shifts:
            if shift.end <= start or shift.start >= end:
                continue
            since = max(shift.start, start).astimezone(tz).strftime("%H:%M")
            until = "24:00" if shift.end >= end else shift.end.astimezone(tz).strftime("%H:%M")
            cells.append((shift.user, since, until, shift.source == "override"))
        rows.append(DayRow(day, cells))
    return rows


def oncall_page(session: Session, username: str, now: datetime) -> OncallPage:
    """Every schedule with who is on call now and the next two weeks; the person's own contact methods."""
    views = []
    for schedule in oncall.list_schedules(session):
        tz = ZoneInfo(schedule.timezone)
        first = now.astimezone(tz).date()
        start = datetime.combine(first, time(), tz)
        found = oncall.shifts(session, schedule, start, start + timedelta(days=DAYS))
        overrides = [
            (o.id, o.user_id, o.starts_at, o.ends_at, o.note, o.created_by)
            for o in oncall.list_overrides(session, schedule.id, start=now)
        ]
        views.append(
            ScheduleView(
                id=schedule.id,
                name=schedule.name or schedule.id,
                timezone=schedule.timezone,
                now=oncall.on_call(session, schedule, now),
                days=_days(found.shifts, tz, first),
                overrides=overrides,
                unknown_names=found.unknown_ical_names,
            )
        )
    linked = oncall_user_of(session, username) is not None
    contacts = [(c.label, mask_url(c.url)) for c in notify_contacts.contacts_of(session, username)] if linked else []
    return OncallPage(
        schedules=views,
        users=[u.id for u in oncall.list_users(session)],
        me_linked=linked,
        my_contacts=contacts,
    )
