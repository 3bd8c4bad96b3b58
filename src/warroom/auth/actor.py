"""Who is doing something: a token, a person, an integration or warroom itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from warroom.errors import Forbidden


class Role(StrEnum):
    """What a token may do; each role includes the ones before it."""

    VIEWER = "viewer"
    RESPONDER = "responder"
    ADMIN = "admin"

    @property
    def level(self) -> int:
        """Order of privilege."""
        return _LEVELS[self]


_LEVELS = {Role.VIEWER: 0, Role.RESPONDER: 1, Role.ADMIN: 2}

# Actor kinds that are people: an API token, an on-call user (a one-click link), a person logged in to the console.
# Code that asks "did a person do this?" of the timeline uses this one tuple, so a new way in cannot be forgotten.
PERSON_KINDS: tuple[str, ...] = ("token", "user", "person")


@dataclass(frozen=True)
class Actor:
    """The attribution of a change: `kind` is token, user, person (logged in to the console), integration or system."""

    name: str
    role: Role
    kind: str = "token"
    token_id: int | None = None
    remote_addr: str | None = None

    @property
    def is_person(self) -> bool:
        """True for people (tokens, users, console persons), false for warroom and integrations."""
        return self.kind in PERSON_KINDS

    def require(self, role: Role) -> None:
        """Raise Forbidden unless this actor has at least `role`."""
        if self.role.level < role.level:
            who = f"token {self.name!r}" if self.kind == "token" else repr(self.name)
            raise Forbidden(f"This needs the {role.value} role; {who} has {self.role.value}.")


SYSTEM = Actor(name="warroom", role=Role.ADMIN, kind="system")
