"""One console action, the same way every time: make the change, audit it under the person, commit once, show it.

A route names what is particular to it (the change, the page that shows its outcome, the page that shows a
refusal); `act` does the sequence every action shares, so the audit entry and the single commit cannot be
forgotten in one of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from warroom.auth import service as audit
from warroom.errors import WarroomError
from warroom.web.session import Visit
from warroom.web.templating import flash

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """The audit entry an action leaves: what was done (`incident.acknowledge`), to what (`incident:7`), detail."""

    action: str
    target: str
    detail: dict[str, Any] | None = None


def act(
    session: Session,
    visit: Visit,
    now: datetime,
    change: Callable[[], tuple[Entry, T]],
    show: Callable[[T], Response],
    refused: Callable[[WarroomError], Response] | None = None,
) -> Response:
    """Run `change`, record its audit entry under the person at `now`, commit, and answer `show(outcome)`.

    A WarroomError raised by `change` is rolled back and answered by `refused` (the form's page again, naming
    what is wrong, with the error's status); without `refused` it reaches the console's error page."""
    try:
        entry, outcome = change()
    except WarroomError as exc:
        if refused is None:
            raise
        session.rollback()
        return refused(exc)
    audit.record(session, visit.actor, entry.action, entry.target, now=now, detail=entry.detail)
    session.commit()
    return show(outcome)


def back(path: str, message: str, level: str = "ok") -> Response:
    """A redirect (303) to `path` that shows `message` on the page it lands on, once."""
    response = RedirectResponse(path, status_code=303)
    flash(response, message, level)
    return response
