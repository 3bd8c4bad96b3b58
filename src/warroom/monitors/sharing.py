"""How engines share the monitors: each heartbeats, and a monitor belongs to the live engine that wins
rendezvous hashing over its id."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from warroom.monitors.models import MonitorEngine


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def engine_heartbeat(session: Session, engine_id: str, *, now: datetime, monitors: int) -> None:
    """Say this engine is alive (and how many monitors it runs)."""
    stmt = _insert(session, MonitorEngine).values(id=engine_id, started_at=now, last_seen=now, monitors=monitors)
    session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={"last_seen": now, "monitors": monitors}))


def live_engines(session: Session, *, now: datetime, ttl: timedelta) -> list[str]:
    """Engines that heartbeated within `ttl`, by id."""
    return list(
        session.scalars(select(MonitorEngine.id).where(MonitorEngine.last_seen >= now - ttl).order_by(MonitorEngine.id))
    )


def remove_engine(session: Session, engine_id: str) -> None:
    """Forget an engine that stops cleanly (its monitors move at the others' next refresh)."""
    session.execute(delete(MonitorEngine).where(MonitorEngine.id == engine_id))


def owner(monitor_id: int, engines: Sequence[str]) -> str | None:
    """The engine that runs `monitor_id`: rendezvous hashing, so that when an engine joins or leaves only the
    monitors it gains or loses move."""
    best, best_score = None, b""
    for engine in engines:
        score = hashlib.blake2b(f"{engine}/{monitor_id}".encode(), digest_size=8).digest()
        if best is None or score > best_score:
            best, best_score = engine, score
    return best
