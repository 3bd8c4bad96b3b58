"""What a report covers: the period, the grouping, the trend's bucket and the knobs, validated at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from warroom.errors import InvalidInput

GROUP_BYS = ("severity", "service", "team", "policy")
BUCKETS = ("day", "week")
DEFAULT_DAYS = 30
# A report looks back at most ten years: longer is a typo (a year 20260), and the trend would have ~3,650 weeks.
MAX_PERIOD = timedelta(days=3660)
DEFAULT_FLAP_MINUTES = 30
MAX_FLAP_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class ReportQuery:
    """A validated report request: incidents detected in [since, until), grouped by `group_by`."""

    since: datetime
    until: datetime
    group_by: str = "severity"
    bucket: str = "week"
    include_drills: bool = False
    flap_minutes: int = DEFAULT_FLAP_MINUTES

    def as_dict(self) -> dict[str, object]:
        """The query as the report echoes it back."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "group_by": self.group_by,
            "bucket": self.bucket,
            "include_drills": self.include_drills,
            "flap_minutes": self.flap_minutes,
        }


def parse_moment(text: str, *, field: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC when it names no zone) as aware UTC."""
    cleaned = text.strip()
    try:
        if len(cleaned) == 10:
            return datetime.combine(date.fromisoformat(cleaned), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise InvalidInput(
            f"Invalid {field} {text[:40]!r}: use an ISO date or date-time, e.g. 2026-11-01 or 2026-11-01T08:00:00Z.",
            field=field,
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_query(
    *,
    now: datetime,
    since: str | None = None,
    until: str | None = None,
    group_by: str = "severity",
    bucket: str = "week",
    include_drills: bool = False,
    flap_minutes: int = DEFAULT_FLAP_MINUTES,
) -> ReportQuery:
    """Validate what a caller asked for; each error names its field. Default period: the 30 days before `now`."""
    end = parse_moment(until, field="until") if until else now
    start = parse_moment(since, field="since") if since else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise InvalidInput(f"since ({start.isoformat()}) must be before until ({end.isoformat()}).", field="since")
    if end - start > MAX_PERIOD:
        raise InvalidInput(f"The period is {(end - start).days} days long: at most {MAX_PERIOD.days}.", field="since")
    if group_by not in GROUP_BYS:
        raise InvalidInput(
            f"Unknown group_by {group_by[:40]!r}: expected one of {', '.join(GROUP_BYS)}.", field="group_by"
        )
    if bucket not in BUCKETS:
        raise InvalidInput(f"Unknown bucket {bucket[:40]!r}: expected one of {', '.join(BUCKETS)}.", field="bucket")
    if not 1 <= flap_minutes <= MAX_FLAP_MINUTES:
        raise InvalidInput(f"flap_minutes must be between 1 and {MAX_FLAP_MINUTES}.", field="flap_minutes")
    return ReportQuery(start, end, group_by, bucket, include_drills, flap_minutes)
