"""Posting a status update's internal message to the incident's channels (an engine job, never the request).

The incident's channels are the Apprise targets of its policy's teams: the policy frozen onto the incident
when paging started (else the policy its services would page with). Each post is a `status_update` notification
in notify's outbox with a stable id per (update, team), so the job run twice posts once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from warroom.incidents.models import Incident
from warroom.notify import service as notify
from warroom.notify.models import Notification
from warroom.oncall import paging
from warroom.oncall import service as oncall
from warroom.oncall.targets import resolve_targets


def team_channels(session: Session, incident: Incident, now: datetime) -> list[tuple[str, str]]:
    """(team, Apprise URL) of every team channel the incident's policy reaches, each team once."""
    escalation = paging.get(session, incident.id)
    levels: list[dict[str, Any]]
    if escalation is not None:
        levels = list(escalation.policy.get("levels", []))
    else:
        policy = oncall.policy_for_incident(session, None, incident.services)
        levels = list(policy.levels) if policy is not None else []
    found: dict[str, str] = {}
    for level in levels:
        targets = [t for t in level.get("notify", []) if t.startswith(("team:", "channel:"))]
        for team, url, _why in resolve_targets(session, targets, now).channels:
            found.setdefault(team, url)
    return list(found.items())


def post(session: Session, incident: Incident, update_id: str, message: str, now: datetime) -> list[str]:
    """Queue the message to each channel; returns the teams posted to."""
    teams = []
    for team, url in team_channels(session, incident, now):
        notify.enqueue(
            session,
            Notification(
                id=notify.notification_id(incident.id, "status_update", update_id, team),
                incident_id=incident.id,
                # Not a page: an acknowledgement or a new paging round must not cancel it.
                kind="status_update",
                team_id=team,
                method="channel",
                url=url,
                title=message.splitlines()[0] if message else f"Incident #{incident.id} update",
                body=message,
                state="pending",
                due_at=now,
                created_at=now,
            ),
            now,
        )
        teams.append(team)
    return teams
