"""Which status may follow which. One table, so the API, CLI and engine refuse the same things."""

from __future__ import annotations

from warroom.errors import Conflict, InvalidInput
from warroom.incidents.models import Status

ALLOWED: dict[Status, tuple[Status, ...]] = {
    Status.TRIGGERED: (
        Status.ACKNOWLEDGED,
        Status.INVESTIGATING,
        Status.IDENTIFIED,
        Status.MONITORING,
        Status.RESOLVED,
    ),
    Status.ACKNOWLEDGED: (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED),
    Status.INVESTIGATING: (Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED),
    Status.IDENTIFIED: (Status.INVESTIGATING, Status.MONITORING, Status.RESOLVED),
    Status.MONITORING: (Status.INVESTIGATING, Status.IDENTIFIED, Status.RESOLVED),
    # A resolved incident comes back only through reopen, which has its own event.
    Status.RESOLVED: (),
}

# Statuses that mean someone is working on it (the response-time target stops at the first of them).
RESPONDING = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED)


def parse_status(value: str, *, field: str = "status") -> Status:
    """`value` as a Status, or an error listing them."""
    try:
        return Status(value.strip().lower())
    except ValueError:
        raise InvalidInput(
            f"Unknown status {value!r}: expected one of {', '.join(s.value for s in Status)}.", field=field
        ) from None


def check_transition(current: Status, target: Status, number: int) -> None:
    """Raise Conflict naming the allowed next statuses when `current` → `target` is not allowed."""
    allowed = ALLOWED[current]
    if target in allowed:
        return
    if current is Status.RESOLVED:
        raise Conflict(
            f"Incident #{number} is resolved; reopen it first (warroom incident reopen {number}).", field="status"
        )
    if target is current:
        hint = f"Incident #{number} is already {current.value}."
    else:
        hint = f"Incident #{number} cannot go from {current.value} to {target.value}."
    raise Conflict(f"{hint} Allowed next: {', '.join(s.value for s in allowed)}.", field="status")
