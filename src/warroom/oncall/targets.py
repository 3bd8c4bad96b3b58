"""Who a policy level's targets mean at a moment: named users, whoever is on call, team members, team channels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from warroom.oncall import service as oncall
from warroom.oncall.models import OncallUser, Schedule, Team


@dataclass
class Resolved:
    """The people and channels a level reaches, and why some targets reached nobody."""

    users: list[tuple[str, str]]  # (user, why)
    channels: list[tuple[str, str, str]]  # (team, url, why)
    notes: list[str]


def resolve_targets(session: Session, targets: list[str], at: datetime) -> Resolved:
    """Who a level's targets mean at `at`: users, whoever is on call on schedules, team members, channels."""
    found = Resolved([], [], [])
    seen: set[str] = set()

    def add(user: str, why: str) -> None:
        if user in seen:
            return
        seen.add(user)
        if session.get(OncallUser, user) is None:
            # A name left in a team or rotation after the user was removed (e.g. from warroom.yaml).
            found.notes.append(f"unknown user {user}")
        else:
            found.users.append((user, why))

    for target in targets:
        kind, _, ref = target.partition(":")
        if kind == "user":
            add(ref, "you are named by the policy")
        elif kind == "schedule":
            schedule = session.get(Schedule, ref)
            shift = oncall.on_call(session, schedule, at) if schedule is not None else None
            if shift is None:
                found.notes.append(f"nobody on call on schedule {ref}")
            else:
                add(shift.user, f"you are on call on schedule {ref} ({shift.source})")
        elif kind in ("team", "channel"):
            team = session.get(Team, ref)
            if team is None:
                found.notes.append(f"unknown team {ref}")
                continue
            if kind == "team":
                for member in team.members:
                    add(member, f"you are in team {ref}")
            if team.channel and all(t != ref for t, _, _ in found.channels):
                found.channels.append((ref, team.channel, f"posted to team {ref}'s channel"))
            elif kind == "channel" and not team.channel:
                found.notes.append(f"team {ref} has no channel")
    return found
