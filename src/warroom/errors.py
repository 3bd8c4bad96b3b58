"""Errors a user can cause. The API turns them into problem details, the CLI into one line."""

from __future__ import annotations


class WarroomError(Exception):
    """Base of the errors that carry a message meant for the user."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(WarroomError):
    """A value is well-formed but not acceptable (unknown severity, bad regex...)."""

    status = 422
    title = "Invalid input"


class NotFound(WarroomError):
    """The thing asked for does not exist."""

    status = 404
    title = "Not found"


class Conflict(WarroomError):
    """The request is valid but the current state does not allow it (illegal transition...)."""

    status = 409
    title = "Conflict"


class Unauthorized(WarroomError):
    """No credentials, or credentials that are not valid."""

    status = 401
    title = "Unauthorized"


class Forbidden(WarroomError):
    """Valid credentials without the role the action needs."""

    status = 403
    title = "Forbidden"


class Unavailable(WarroomError):
    """A dependency (the database) cannot be reached; the client should retry."""

    status = 503
    title = "Service unavailable"
