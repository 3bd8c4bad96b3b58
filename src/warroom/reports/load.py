"""On-call load: pages per person, pages at night in the person's own time zone, time to acknowledge per person.

A page is one person paged at one step of an incident's escalation (however many contact methods it went to):
the page notifications grouped by (incident, person, generation, cycle, level), at the first one's time."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select

from warroom.incidents.models import TimelineEvent
from warroom.notify.models import Notification
from warroom.oncall.models import OncallUser
from warroom.reports import figures
from warroom.reports.phases import find
from warroom.reports.reads import Reads
from warroom.reports.sql import epoch

NIGHT_STARTS, NIGHT_ENDS = 22, 7  # 22:00 to 07:00 on the person's clock
UTC_ZONE = ZoneInfo("UTC")
_first, _second, _third, _fourth = (itemgetter(i) for i in range(4))
Floats = NDArray[np.float64]


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

    def hours(self, at: Floats) -> NDArray[np.int64]:
        """The hour (0-23) at each of `at` (epoch seconds), rounded to the microsecond first as datetime does."""
        seconds = np.rint(at * 1_000_000).astype(np.int64) // 1_000_000  # rint: half to even, as round()
        slots, day_of = np.unique(seconds // self._SLOT, return_inverse=True)
        offsets = []
        for slot in slots.tolist():  # one per distinct day: a few thousand over years
            if slot not in self._offsets:
                self._offsets[slot] = self._offset(slot)
            offsets.append(self._offsets[slot])
        offset = np.array([0 if o is None else o for o in offsets], dtype=np.int64)[day_of]
        hours = (seconds + offset) // 3600 % 24
        for i in np.flatnonzero(np.array([o is None for o in offsets], dtype=bool)[day_of]).tolist():
            hours[i] = datetime.fromtimestamp(float(at[i]), tz=self.zone).hour  # a day its offset changed
        return hours


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


class _Pages:
    """The pages of the period's incidents as columns: incident id, person (an index into `people`), time."""

    def __init__(self, rows: list[Page], in_period: Callable[[NDArray[np.int64]], NDArray[np.bool_]]) -> None:
        incidents = np.fromiter(map(_first, rows), dtype=np.int64, count=len(rows))
        kept = in_period(incidents)
        names = list(map(_second, rows))
        self.people: list[str] = sorted(dict.fromkeys(names))
        code = {name: i for i, name in enumerate(self.people)}
        self.incidents = incidents[kept]
        self.person = np.fromiter(map(code.__getitem__, names), dtype=np.intp, count=len(names))[kept]
        self.at = np.fromiter(map(_third, rows), dtype=np.float64, count=len(rows))[kept]


def acknowledgements_statement(*, sqlite: bool) -> Any:
    """Every acknowledgement: (incident id, actor, epoch seconds, event id), in no order.

    Ordered in Python, not by the database: PostgreSQL sorted 95,000 rows on disk past work_mem."""
    return select(
        TimelineEvent.incident_id, TimelineEvent.actor, epoch(TimelineEvent.at, sqlite=sqlite), TimelineEvent.id
    ).where(TimelineEvent.kind == "acknowledged")


class _FirstAcknowledgements:
    """Each acknowledged incident of the period (sorted ids) with who acknowledged it first and when: the
    earliest acknowledgement, the first written among those at the same time."""

    def __init__(self, rows: list[Any], in_period: Callable[[NDArray[np.int64]], NDArray[np.bool_]]) -> None:
        incidents = np.fromiter(map(_first, rows), dtype=np.int64, count=len(rows))
        kept = np.flatnonzero(in_period(incidents))
        at = np.fromiter(map(_third, rows), dtype=np.float64, count=len(rows))[kept]
        event = np.fromiter(map(_fourth, rows), dtype=np.int64, count=len(rows))[kept]
        incidents = incidents[kept]
        order = np.lexsort((event, at, incidents))  # by incident, then time, then event id
        self.incidents, first = np.unique(incidents[order], return_index=True)
        chosen = kept[order[first]]
        self.actors: list[str] = [rows[i][1] for i in chosen.tolist()]
        self.at: Floats = at[order[first]]

    def of(self, incidents: NDArray[np.int64]) -> NDArray[np.intp]:
        """For each of `incidents`, its index here, or -1 when it was never acknowledged."""
        return find(self.incidents, incidents)


def load(reads: Reads, incidents: Collection[int]) -> dict[str, Any]:
    """Per person, over the pages of the period's `incidents` (their ids): pages, night pages, pages never
    acknowledged, and time from their page to their acknowledgement.

    A person's acknowledgement counts when they were the first to acknowledge an incident they were paged for;
    the time runs from their first page on that incident. A page is never acknowledged when its incident never was."""
    period = np.sort(np.fromiter(incidents, dtype=np.int64, count=len(incidents)))

    def in_period(ids: NDArray[np.int64]) -> NDArray[np.bool_]:
        return find(period, ids) >= 0

    paged = _Pages(reads.rows("pages", pages_statement(sqlite=reads.sqlite)), in_period)
    zones = {uid: _zone(tz) for uid, tz in reads.session.execute(select(OncallUser.id, OncallUser.timezone))}
    acks = _FirstAcknowledgements(
        reads.rows("acknowledgements", acknowledgements_statement(sqlite=reads.sqlite)), in_period
    )
    ack_of_page = acks.of(paged.incidents)
    # Pages in order of person, then incident, then time: each person's pages are one run, and within it the
    # first page of each incident is the first of its run.
    order = np.lexsort((paged.at, paged.incidents, paged.person))
    person, incident, at, ack = paged.person[order], paged.incidents[order], paged.at[order], ack_of_page[order]
    counts = np.bincount(person, minlength=len(paged.people)).tolist()
    starts = np.concatenate(([0], np.cumsum(counts))).tolist()
    people = []
    clocks: dict[str, _Clock] = {}
    for p in sorted(range(len(paged.people)), key=lambda p: (-counts[p], paged.people[p])):
        user, run = paged.people[p], slice(starts[p], starts[p + 1])
        zone = zones.get(user, UTC_ZONE)
        clock = clocks.get(zone.key) or clocks.setdefault(zone.key, _Clock(zone))
        hours = clock.hours(at[run])
        mine_ack, mine_incident, mine_at = ack[run], incident[run], at[run]
        first = np.flatnonzero(np.diff(mine_incident, prepend=-1) != 0)  # each incident's first page
        answered = [
            ack_at - page_at
            for a, page_at in zip(mine_ack[first].tolist(), mine_at[first].tolist(), strict=True)
            if a >= 0 and acks.actors[a] == user and (ack_at := float(acks.at[a])) >= page_at
        ]
        people.append(
            {
                "person": user,
                "timezone": zone.key,
                "pages": counts[p],
                "night_pages": int(np.count_nonzero((hours >= NIGHT_STARTS) | (hours < NIGHT_ENDS))),
                "unacknowledged_pages": int(np.count_nonzero(mine_ack < 0)),
                "acknowledged": len(answered),
                "time_to_acknowledge": figures.summary(answered),
            }
        )
    return {
        "pages": len(paged.at),
        "night_pages": sum(person["night_pages"] for person in people),
        "unacknowledged_pages": sum(person["unacknowledged_pages"] for person in people),
        "people": people,
    }
