"""Rotation arithmetic: hand-offs stay on the wall clock across DST, layers, restrictions, overrides, iCal."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.oncall.config_models import LayerConfig, RestrictionConfig, RotationConfig
from warroom.oncall.rotation import Shift, combine, ical_shifts, layer_shifts, rotation_shifts

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekly_handoff_stays_at_monday_nine_local_across_spring_forward():
    rotation = RotationConfig(participants=["alice", "bob"], shift="1w", handoff="Mon 09:00", start=date(2026, 3, 2))
    shifts = rotation_shifts(rotation, BERLIN, utc(2026, 3, 20), utc(2026, 4, 10), "layer 1")
    starts = [(s.start, s.user) for s in shifts]
    # 09:00 CET is 08:00 UTC; after the change on 29 March, 09:00 CEST is 07:00 UTC.
    assert starts == [
        (utc(2026, 3, 16, 8), "alice"),
        (utc(2026, 3, 23, 8), "bob"),
        (utc(2026, 3, 30, 7), "alice"),
        (utc(2026, 4, 6, 7), "bob"),
    ]
    assert shifts[1].end - shifts[1].start == timedelta(hours=167)  # the week with the short night


def test_daily_handoff_in_new_york_takes_25_hours_when_clocks_fall_back():
    rotation = RotationConfig(participants=["a", "b", "c"], shift="1d", handoff="09:00", start=date(2026, 10, 1))
    shifts = rotation_shifts(rotation, NEW_YORK, utc(2026, 10, 31, 12), utc(2026, 11, 2, 15), "layer 1")
    assert [(s.start, s.end - s.start) for s in shifts] == [
        (utc(2026, 10, 30, 13), timedelta(hours=24)),
        (utc(2026, 10, 31, 13), timedelta(hours=25)),  # 09:00 EDT → 09:00 EST
        (utc(2026, 11, 1, 14), timedelta(hours=24)),
        (utc(2026, 11, 2, 14), timedelta(hours=24)),
    ]
    # 1 Oct is index 0 (a): 30 Oct is 29 days later → c, then a, b, c.
    assert [s.user for s in shifts] == ["c", "a", "b", "c"]


def test_twelve_hour_shifts_hand_off_at_nine_and_twenty_one_local():
    rotation = RotationConfig(participants=["day", "night"], shift="12h", handoff="09:00", start=date(2026, 3, 1))
    shifts = rotation_shifts(rotation, BERLIN, utc(2026, 3, 28, 12), utc(2026, 3, 30, 12), "layer 1")
    local = [(s.start.astimezone(BERLIN).strftime("%d %H:%M"), s.user) for s in shifts]
    assert local == [
        ("28 09:00", "day"),
        ("28 21:00", "night"),
        ("29 09:00", "day"),
        ("29 21:00", "night"),
        ("30 09:00", "day"),
    ]
    assert shifts[1].end - shifts[1].start == timedelta(hours=11)  # the night the clocks go forward


def test_a_handoff_inside_the_dst_gap_leaves_no_hole_and_no_overlap():
    rotation = RotationConfig(participants=["a", "b"], shift="1d", handoff="02:30", start=date(2026, 3, 1))
    shifts = rotation_shifts(rotation, BERLIN, utc(2026, 3, 27), utc(2026, 4, 1), "layer 1")
    for before, after in itertools.pairwise(shifts):
        assert before.end == after.start
    assert all(s.end > s.start for s in shifts)


def test_shifts_that_do_not_divide_a_day_count_elapsed_hours():
    rotation = RotationConfig(participants=["a", "b", "c"], shift="7h", handoff="00:00", start=date(2026, 3, 29))
    shifts = rotation_shifts(rotation, BERLIN, utc(2026, 3, 28, 23), utc(2026, 3, 29, 20), "layer 1")
    assert all(s.end - s.start == timedelta(hours=7) for s in shifts)
    assert [s.user for s in shifts] == ["a", "b", "c"]


def test_restricted_layer_covers_weekday_office_hours_and_the_base_layer_the_rest():
    base = LayerConfig(rotation=RotationConfig(participants=["night"], shift="1w"))
    office = LayerConfig(
        rotation=RotationConfig(participants=["alice", "bob"], shift="1d", handoff="09:00", start=date(2026, 3, 2)),
        restrictions=[RestrictionConfig(days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="18:00")],
    )
    start, end = utc(2026, 3, 6, 0), utc(2026, 3, 9, 23)  # Friday to Monday, CET (UTC+1)
    sources = [layer_shifts(base, 0, BERLIN, start, end), layer_shifts(office, 1, BERLIN, start, end)]
    result = [(s.start.astimezone(BERLIN).strftime("%a %H:%M"), s.user) for s in combine(sources, start, end)]
    assert result == [
        ("Fri 01:00", "night"),
        ("Fri 09:00", "alice"),  # 2 Mar is alice, 6 Mar is 4 days later
        ("Fri 18:00", "night"),
        ("Mon 09:00", "bob"),
        ("Mon 18:00", "night"),
    ]


def test_the_higher_layer_wins_and_an_override_wins_over_every_layer():
    start, end = utc(2026, 1, 5), utc(2026, 1, 6)
    low = [Shift(start, end, "alice", "layer 1")]
    high = [Shift(utc(2026, 1, 5, 8), utc(2026, 1, 5, 16), "bob", "layer 2")]
    override = [Shift(utc(2026, 1, 5, 12), utc(2026, 1, 5, 13), "carol", "override")]
    result = [(s.start.hour, s.end.hour, s.user, s.source) for s in combine([low, high, override], start, end)]
    assert result == [
        (0, 8, "alice", "layer 1"),
        (8, 12, "bob", "layer 2"),
        (12, 13, "carol", "override"),
        (13, 16, "bob", "layer 2"),
        (16, 0, "alice", "layer 1"),
    ]


@settings(max_examples=80, deadline=None)
@given(
    people=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4),
    hours=st.sampled_from([1, 2, 3, 4, 6, 7, 8, 12, 24, 48, 168]),
    handoff=st.sampled_from(["00:00", "02:30", "09:00", "23:15", "Mon 09:00", "Sun 03:00"]),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]),
    offset_hours=st.integers(min_value=0, max_value=24 * 400),
    length_hours=st.integers(min_value=1, max_value=24 * 20),
)
def test_an_unrestricted_rotation_always_has_exactly_one_person_on_call(
    people, hours, handoff, zone, offset_hours, length_hours
):
    rotation = RotationConfig(participants=people, shift=f"{hours}h", handoff=handoff, start=date(2025, 1, 1))
    start = utc(2025, 6, 1) + timedelta(hours=offset_hours)
    end = start + timedelta(hours=length_hours)
    shifts = rotation_shifts(rotation, ZoneInfo(zone), start, end, "layer 1")
    assert shifts[0].start <= start and shifts[-1].end >= end
    for before, after in itertools.pairwise(shifts):
        assert before.end == after.start  # no hole, no overlap, whatever the zone does
        assert before.end > before.start


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:weekly@test
SUMMARY:alice
DTSTART;TZID=Europe/Berlin:20260302T090000
DTEND;TZID=Europe/Berlin:20260302T180000
RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10
EXDATE;TZID=Europe/Berlin:20260304T090000
END:VEVENT
BEGIN:VEVENT
UID:weekly@test
RECURRENCE-ID;TZID=Europe/Berlin:20260309T090000
SUMMARY:Bob Builder
DTSTART;TZID=Europe/Berlin:20260309T120000
DTEND;TZID=Europe/Berlin:20260309T200000
END:VEVENT
BEGIN:VEVENT
UID:allday@test
SUMMARY:Mallory
DTSTART;VALUE=DATE:20260307
DTEND;VALUE=DATE:20260308
END:VEVENT
END:VCALENDAR
"""


def test_ical_recurring_events_honour_exdate_and_edited_instances():
    names = {"alice": "alice", "bob builder": "bob"}
    shifts, unknown = ical_shifts(ICS, BERLIN, utc(2026, 3, 1), utc(2026, 3, 13), lambda s: names.get(s.lower()))
    got = [
        (s.start.astimezone(BERLIN).strftime("%a %d %H:%M"), s.end.astimezone(BERLIN).strftime("%H:%M"), s.user)
        for s in shifts
    ]
    assert got == [
        ("Mon 02 09:00", "18:00", "alice"),
        # Wed 04 is excluded (EXDATE); Mon 09 was moved to 12:00 and given to Bob (RECURRENCE-ID).
        ("Mon 09 12:00", "20:00", "bob"),
        ("Wed 11 09:00", "18:00", "alice"),
    ]
    assert unknown == ["Mallory"]
