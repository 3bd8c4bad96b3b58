"""On-call load: pages per person, pages at night in the person's own time zone, time to acknowledge per person.

A page is one person paged at one step of an incident's escalation (however many contact methods it went to):
the page notifications grouped by (incident, person, generation, cycle, level), at the first one's time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container
from datetime import datetime
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from warroom.incidents.models import TimelineEvent
from warroom.notify.models import Notification
from warroom.oncall.models import OncallUser
from warroom.reports import figures
from warroom.reports.reads import Reads
from warroom.reports.sql import epoch

NIGHT_STARTS, NIGHT_ENDS = 22, 7  # 22:00 to 07:00 on the person's clock
UTC_ZONE = ZoneInfo("UTC")
_when = itemgetter(2, 3)  # (time, event id) of an acknowledgement row


# One person paged at one escalation step: (incident id, person, epoch seconds). A plain tuple, as the driver
# returns it: 70,000 of them are read per three-year report.
Page = tuple[int, str, float]


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_night(at: float, zone: ZoneInfo) -> bool:
    """True when `at` falls between 22:00 and 07:00 on a clock in `zone`."""
    hour = datetime.fromtimestamp(at, tz=zone).hour
    return hour >= NIGHT_STARTS or hour < NIGHT_ENDS


class _Clock:
    """The hour on a clock in one zone, as `datetime.fromtimestamp(at, tz=zone).hour` answers it, without a
    datetime per page: the zone's UTC offset is looked up once per UTC day, and used for that day only when it
    is the same at both of its ends (no zone changes its offset twice in a day); on the day of a change, each
    page gets its own datetime."""

    _SLOT = 86400

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._offsets: dict[int, int | None] = {}

    def _offset(self, slot: int) -> int | None:
        start = datetime.fromtimestamp(slot * self._SLOT, tz=self.zone).utcoffset()
        end = datetime.fromtimestamp(slot * self._SLOT + self._SLOT - 1, tz=self.zone).utcoffset()
        return int(start.total_seconds()) if start is not None and start == end else None

    def hour(self, at: float) -> int:
        """The hour (0-23) at `at` (epoch seconds), rounded to the microsecond first as datetime does."""
        seconds = round(at * 1_000_000) // 1_000_000
        slot = seconds // self._SLOT
        if slot not in self._offsets:
            self._offsets[slot] = self._offset(slot)
        offset = self._offsets[slot]
        if offset is None:
            return datetime.fromtimestamp(at, tz=self.zone).hour
        return (seconds + offset) // 3600 % 24


def pages_statement(*, sqlite: bool) -> Any:
    """Every page: (incident id, person, epoch seconds of its first notification).

    Read over the whole notification table and kept in Python when their incident is one of the period's: a
    join costs a lookup into the incidents table per notification (issue 17)."""
    # The epoch of the earliest timestamp: one conversion per page, not one per notification.
    first = epoch(func.min(Notification.created_at), sqlite=sqlite)
    return (
        select(Notification.incident_id, Notification.user_id, first)
        .where(Notification.kind == "page", Notification.user_id.is_not(None), Notification.incident_id.is_not(None))
        .group_by(
            Notification.incident_id,
            Notification.user_id,
            Notification.generation,
            Notification.cycle,
            Notification.level,
        )
    )


def pages(reads: Reads, incidents: Container[int]) -> list[Page]:
    """The pages of the period's `incidents`."""
    return [page for page in reads.rows("pages", pages_statement(sqlite=reads.sqlite)) if page[0] in incidents]


def acknowledgements_statement(*, sqlite: bool) -> Any:
    """Every acknowledgement: (incident id, actor, epoch seconds, event id), in no order.

    Ordered in Python, not by the database: PostgreSQL sorted 95,000 rows on disk past work_mem."""
    return select(
        TimelineEvent.incident_id, TimelineEvent.actor, epoch(TimelineEvent.at, sqlite=sqlite), TimelineEvent.id
    ).where(TimelineEvent.kind == "acknowledged")


def _acknowledgements(reads: Reads, incidents: Container[int]) -> dict[int, tuple[str, float]]:
    """incident → (who acknowledged it first, when), for the period's `incidents`."""
    statement = acknowledgements_statement(sqlite=reads.sqlite)
    rows = [row for row in reads.rows("acknowledgements", statement) if row[0] in incidents]
    rows.sort(key=_when, reverse=True)  # the latest first: the first acknowledgement of each is written last
    return {incident_id: (actor, at) for incident_id, actor, at, _ in rows}


def load(reads: Reads, incidents: Container[int]) -> dict[str, Any]:
    """Per person, over the pages of the period's `incidents` (their ids): pages, night pages, pages never
    acknowledged, and time from their page to their acknowledgement.

    A person's acknowledgement counts when they were the first to acknowledge an incident they were paged for;
    the time runs from their first page on that incident. A page is never acknowledged when its incident never was."""
    paged = pages(reads, incidents)
    zones = {uid: _zone(tz) for uid, tz in reads.session.execute(select(OncallUser.id, OncallUser.timezone))}
    acks = _acknowledgements(reads, incidents)
    by_person: dict[str, list[Page]] = defaultdict(list)
    for page in paged:
        by_person[page[1]].append(page)
    people = []
    clocks: dict[str, _Clock] = {}
    for user in sorted(by_person, key=lambda u: (-len(by_person[u]), u)):
        mine = by_person[user]
        zone = zones.get(user, UTC_ZONE)
        clock = clocks.get(zone.key) or clocks.setdefault(zone.key, _Clock(zone))
        first_page: dict[int, float] = {}
        night = unacknowledged = 0
        for incident_id, _, at in mine:
            if incident_id not in first_page or at < first_page[incident_id]:
                first_page[incident_id] = at
            hour = clock.hour(at)
            night += hour >= NIGHT_STARTS or hour < NIGHT_ENDS
            unacknowledged += incident_id not in acks
        ack_times = [
            ack[1] - at
            for i, at in first_page.items()
            if (ack := acks.get(i)) is not None and ack[0] == user and ack[1] >= at
        ]
        people.append(
            {
                "person": user,
                "timezone": zone.key,
                "pages": len(mine),
                "night_pages": night,
                "unacknowledged_pages": unacknowledged,
                "acknowledged": len(ack_times),
                "time_to_acknowledge": figures.summary(ack_times),
            }
        )
    return {
        "pages": len(paged),
        "night_pages": sum(person["night_pages"] for person in people),
        "unacknowledged_pages": sum(person["unacknowledged_pages"] for person in people),
        "people": people,
    }
