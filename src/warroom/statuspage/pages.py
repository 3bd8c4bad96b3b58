"""The public status page in HTML: the view of a snapshot that the templates render (no JavaScript needed).

Jinja2 with autoescaping on, so every title and update text a person typed is shown as text. The templates
get plain values prepared here (groups with their members, the uptime bar as runs of days, times in the
page's time zone) and decide nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, select_autoescape

from warroom.statuspage.feeds import STATUS_WORDS
from warroom.statuspage.snapshot import PageSnapshot, PublicComponent, PublicGroup, PublicIncident, UptimeDay

env = Environment(
    loader=PackageLoader("warroom", "web/templates/status"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

INDICATOR_CLASS = {"none": "ok", "minor": "minor", "major": "major", "critical": "critical"}


@dataclass(frozen=True)
class BarRun:
    """Consecutive days of one component's bar with the same worst status: one segment `days` wide."""

    days: int
    css: str
    label: str


@dataclass(frozen=True)
class ComponentView:
    """A component's row: its name, status words and uptime bar."""

    item: PublicComponent
    status_words: str
    uptime_text: str
    bar: tuple[BarRun, ...]


@dataclass(frozen=True)
class GroupView:
    """A group's box with its members (the ungrouped components form a group with no name)."""

    group: PublicGroup | None
    members: tuple[ComponentView, ...]


def _zone(snapshot: PageSnapshot) -> ZoneInfo:
    try:
        return ZoneInfo(snapshot.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# Short class names: a page of 200 components with a bad day here and there holds thousands of these.
BAR_CLASS = {
    "operational": "o",
    "degraded_performance": "d",
    "partial_outage": "p",
    "major_outage": "m",
    "under_maintenance": "um",
}


def _day_css(day: UptimeDay) -> str:
    return "u" if day.uptime is None else BAR_CLASS[day.worst_status]


def bar(days: tuple[UptimeDay, ...]) -> tuple[BarRun, ...]:
    """The uptime bar as runs of days that look the same (a 90-day bar is a handful of runs, not 90 boxes)."""
    runs: list[BarRun] = []
    start = 0
    for index in range(1, len(days) + 1):
        if index < len(days) and _day_css(days[index]) == _day_css(days[start]):
            continue
        first, last = days[start], days[index - 1]
        measured = [d.uptime for d in days[start:index] if d.uptime is not None]
        span = first.day.isoformat() if first is last else f"{first.day.isoformat()} to {last.day.isoformat()}"
        if not measured:
            label = f"{span}: no data"
        elif first.worst_status == "operational":
            label = f"{span}: {min(measured):.2%}"
        else:
            label = f"{span}: {min(measured):.2%}, {STATUS_WORDS[first.worst_status]}"
        runs.append(BarRun(days=index - start, css=_day_css(first), label=label))
        start = index
    return tuple(runs)


def uptime_text(days: tuple[UptimeDay, ...]) -> str:
    """The average measured uptime over the bar's days, or a plain 'no data'."""
    measured = [d.uptime for d in days if d.uptime is not None]
    if not measured:
        return "no uptime data yet"
    average = f"{sum(measured) / len(measured):.2%} uptime"
    if len(measured) < len(days):
        return f"{average} over the {len(measured)} days measured"
    return f"{average} over {len(days)} days"


def groups(snapshot: PageSnapshot) -> list[GroupView]:
    """Groups in order with their members; components of no (known) group come first, unnamed."""
    views = {
        c.id: ComponentView(c, STATUS_WORDS[c.status], uptime_text(c.uptime_days), bar(c.uptime_days))
        for c in snapshot.components
    }
    ordered = sorted(snapshot.components, key=lambda c: (c.position, c.name))
    known = {g.id for g in snapshot.groups}
    out = []
    loose = tuple(views[c.id] for c in ordered if c.group_id is None or c.group_id not in known)
    if loose:
        out.append(GroupView(None, loose))
    for g in sorted(snapshot.groups, key=lambda g: (g.position, g.name)):
        members = tuple(views[c.id] for c in ordered if c.group_id == g.id)
        out.append(GroupView(g, members))
    return out


def _when(snapshot: PageSnapshot) -> object:
    zone = _zone(snapshot)

    def when(moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(zone)
        return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or snapshot.time_zone)

    return when


def _common(snapshot: PageSnapshot) -> dict[str, object]:
    return {
        "snap": snapshot,
        "when": _when(snapshot),
        "words": STATUS_WORDS,
        "indicator_class": INDICATOR_CLASS[snapshot.indicator],
    }


def render_status(snapshot: PageSnapshot) -> str:
    """`/status`: the banner, components by group, active incidents, maintenance."""
    upcoming = [m for m in snapshot.maintenances if m.status == "scheduled"]
    active = [m for m in snapshot.maintenances if m.status != "scheduled"]
    return env.get_template("status.html").render(
        **_common(snapshot), groups=groups(snapshot), upcoming=upcoming, active_maintenance=active
    )


def render_history(snapshot: PageSnapshot, items: list[PublicIncident], *, page: int, pages: int) -> str:
    """`/status/history?page=N`."""
    return env.get_template("history.html").render(**_common(snapshot), items=items, page=page, pages=pages)


def render_incident(snapshot: PageSnapshot, item: PublicIncident) -> str:
    """`/status/incidents/{id}`."""
    by_id = {c.id: c for c in snapshot.components}
    affected = [by_id[c].name for c in item.component_ids if c in by_id]
    return env.get_template("incident.html").render(**_common(snapshot), item=item, affected=affected)


def render_error(snapshot: PageSnapshot | None, *, status: int, title: str, detail: str) -> str:
    """A plain error page (404 for an unknown incident or history page) that leads back to the status page."""
    return env.get_template("error.html").render(snap=snapshot, status=status, title=title, detail=detail)
