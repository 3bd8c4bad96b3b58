"""Realistic snapshots for the public face's tests: a shop's page as the domain would build it from a company's
components and incidents, shown through a FixedSource."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from warroom.statuspage.snapshot import (
    ComponentChange,
    PageSnapshot,
    PublicComponent,
    PublicGroup,
    PublicIncident,
    PublicUpdate,
    UptimeDay,
)

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


def uptime(
    days: int = 90, bad: dict[int, tuple[float, str]] | None = None, unmeasured: int = 0
) -> tuple[UptimeDay, ...]:
    """`days` of uptime ending yesterday; `bad` maps a day index to (uptime, worst status); the first
    `unmeasured` days have no data (a component added lately)."""
    start = NOW.date() - timedelta(days=days)
    out = []
    for i in range(days):
        day = start + timedelta(days=i)
        if i < unmeasured:
            out.append(UptimeDay(day, None, "operational"))
        elif bad and i in bad:
            out.append(UptimeDay(day, bad[i][0], bad[i][1]))  # type: ignore[arg-type]
        else:
            out.append(UptimeDay(day, 1.0, "operational"))
    return tuple(out)


def component(
    cid: str,
    name: str,
    status: str = "operational",
    *,
    group: str | None = None,
    position: int = 1,
    description: str = "",
    days: tuple[UptimeDay, ...] | None = None,
) -> PublicComponent:
    return PublicComponent(
        id=cid,
        name=name,
        description=description,
        status=status,  # type: ignore[arg-type]
        position=position,
        group_id=group,
        created_at=datetime(2025, 3, 1, tzinfo=UTC),
        updated_at=NOW - timedelta(hours=1),
        uptime_days=uptime() if days is None else days,
    )


def update(uid: str, status: str, body: str, minutes_ago: int, components: tuple[str, ...] = ()) -> PublicUpdate:
    at = NOW - timedelta(minutes=minutes_ago)
    return PublicUpdate(
        id=uid,
        status=status,
        body=body,
        created_at=at,
        display_at=at,  # type: ignore[arg-type]
        affected_component_ids=components,
        # As recorded when posted: what each affected component was before the update and after it.
        component_changes=tuple(
            ComponentChange(code=c, name=c.capitalize(), old_status="operational", new_status="partial_outage")
            for c in components
        )
        or None,
    )


def incident(
    iid: str,
    name: str,
    updates: tuple[PublicUpdate, ...],
    *,
    impact: str = "minor",
    components: tuple[str, ...] = ("checkout",),
    resolved: bool = False,
) -> PublicIncident:
    first, last = updates[-1], updates[0]
    monitoring = next((u.created_at for u in updates if u.status == "monitoring"), None)
    return PublicIncident(
        id=iid,
        kind="incident",
        name=name,
        status=last.status,
        impact=impact,  # type: ignore[arg-type]
        created_at=first.created_at,
        updated_at=last.created_at,
        started_at=first.created_at,
        monitoring_at=monitoring,
        resolved_at=last.created_at if resolved else None,
        component_ids=components,
        updates=updates,
    )


def maintenance(
    mid: str, name: str, status: str, starts_in: timedelta, length: timedelta, components: tuple[str, ...] = ("search",)
) -> PublicIncident:
    start = NOW + starts_in
    posted = NOW - timedelta(days=2)
    minutes = int(length.total_seconds() // 60)
    body = f"We will upgrade the search cluster; searches may be slow for up to {minutes} minutes."
    updates = (
        PublicUpdate(
            id=f"{mid}-u1",
            status="scheduled",
            body=body,
            created_at=posted,
            display_at=posted,
            affected_component_ids=components,
        ),
    )
    if status == "in_progress":
        updates = (
            PublicUpdate(
                id=f"{mid}-u2",
                status="in_progress",
                body="The maintenance has started.",
                created_at=start,
                display_at=start,
                affected_component_ids=components,
            ),
            *updates,
        )
    return PublicIncident(
        id=mid,
        kind="maintenance",
        name=name,
        status=status,
        impact="maintenance",  # type: ignore[arg-type]
        created_at=posted,
        updated_at=updates[0].created_at,
        started_at=start,
        monitoring_at=None,
        resolved_at=None,
        component_ids=components,
        updates=updates,
        scheduled_for=start,
        scheduled_until=start + length,
    )


def sample_snapshot(**changes: Any) -> PageSnapshot:
    """A shop's status page during a checkout incident, with search maintenance coming and going."""
    components = (
        component("website", "Website", position=1, description="www.example.com"),
        component(
            "checkout",
            "Checkout",
            "partial_outage",
            group="payments",
            position=1,
            days=uptime(bad={88: (0.962, "partial_outage"), 40: (0.999, "degraded_performance")}),
        ),
        component("card-payments", "Card payments", group="payments", position=2),
        component("search", "Search", "under_maintenance", group="platform", position=1),
        component("public-api", "Public API", group="platform", position=2, days=uptime(unmeasured=60)),
    )
    groups = (
        PublicGroup(
            "payments",
            "Payments",
            2,
            "partial_outage",
            ("checkout", "card-payments"),
            datetime(2025, 3, 1, tzinfo=UTC),
            NOW,
        ),
        PublicGroup(
            "platform",
            "Platform",
            3,
            "under_maintenance",
            ("search", "public-api"),
            datetime(2025, 3, 1, tzinfo=UTC),
            NOW,
        ),
    )
    active = incident(
        "inc-checkout-slow",
        "Checkout is slow",
        (
            update(
                "u3",
                "identified",
                "We found the cause: a saturated payment gateway pool. A fix is rolling out.",
                10,
                ("checkout",),
            ),
            update("u2", "investigating", "Some card payments time out.\nWe keep looking.", 30, ("checkout",)),
            update("u1", "investigating", "We are investigating slow checkouts.", 45, ("checkout",)),
        ),
    )
    fields: dict[str, Any] = dict(
        name="Example Shop",
        url="https://status.example.com",
        time_zone="Europe/Berlin",
        updated_at=NOW,
        version="v1",
        indicator="major",
        description="Partial System Outage",
        components=components,
        groups=groups,
        incidents=(active,),
        maintenances=(
            maintenance(
                "mnt-search-now", "Search cluster upgrade", "in_progress", -timedelta(minutes=20), timedelta(hours=1)
            ),
            maintenance(
                "mnt-db-later",
                "Database failover drill",
                "scheduled",
                timedelta(days=3),
                timedelta(minutes=30),
                ("website",),
            ),
        ),
    )
    fields.update(changes)
    return PageSnapshot(**fields)


def past_incidents(count: int) -> list[PublicIncident]:
    """`count` resolved incidents, newest first, one every 6 hours back from NOW."""
    out = []
    for n in range(count):
        at = n * 360 + 120
        out.append(
            incident(
                f"past-{n}",
                f"Past incident number {n}",
                (
                    update(f"p{n}-2", "resolved", f"Resolved: incident {n} is over.", at),
                    update(f"p{n}-1", "investigating", f"Looking into incident {n}.", at + 40),
                ),
                resolved=True,
                impact="major" if n % 3 == 0 else "minor",
            )
        )
    return out
