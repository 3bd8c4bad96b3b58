"""FastAPI dependencies every domain's routes use: the runtime, sessions, the caller and their role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from warroom.auth import service as auth_service
from warroom.auth.actor import Actor, Role
from warroom.errors import Unauthorized, Unavailable
from warroom.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    """The runtime the app was built with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _session(runtime: Runtime, *, write: bool) -> Iterator[Session]:
    session = runtime.db.write_session() if write else runtime.db.session()
    try:
        yield session
    except (OperationalError, DBAPIError) as exc:
        session.rollback()
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            raise Unavailable("The database is unavailable; retry later.") from exc
        raise
    finally:
        session.close()


def read_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session for a read-only route."""
    yield from _session(runtime, write=False)


def write_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session for a route that changes something; the route commits."""
    yield from _session(runtime, write=True)


ReadSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session)]


def bearer_token(request: Request) -> str | None:
    """The token in `Authorization: Bearer ...`, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def current_actor(request: Request, runtime: RuntimeDep) -> Actor:
    """The caller, from their bearer token; 401 when missing or invalid."""
    token_text = bearer_token(request)
    if token_text is None:
        raise Unauthorized("Missing API token: send `Authorization: Bearer <token>`.")
    try:
        with runtime.db.session() as session:
            token = auth_service.authenticate(session, token_text)
    except OperationalError as exc:
        raise Unavailable("The database is unavailable; retry later.") from exc
    client = request.client.host if request.client else None
    return auth_service.actor_for(token, remote_addr=client)


def require(role: Role) -> Callable[..., Actor]:
    """A dependency that gives the caller when they have at least `role`, else 403."""

    def dependency(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        actor.require(role)
        return actor

    dependency.__name__ = f"require_{role.value}"
    return dependency


Viewer = Annotated[Actor, Depends(require(Role.VIEWER))]
Responder = Annotated[Actor, Depends(require(Role.RESPONDER))]
Admin = Annotated[Actor, Depends(require(Role.ADMIN))]


# Numbers and ids in paths: the columns are INTEGER, whose range PostgreSQL enforces (3000000000 was a
# DataError) and SQLite's driver refuses past 2**63 (an OverflowError); both were 500s. One type for every
# router, so a number out of range is a 422 naming the parameter on both backends, and the schema says so.
DB_INT_MAX = 2**31 - 1
PathId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="A positive whole number.")]
QueryId = Annotated[int | None, Query(ge=1, le=DB_INT_MAX)]
