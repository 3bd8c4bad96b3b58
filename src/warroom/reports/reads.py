"""The report's database reads: on PostgreSQL the big ones run at once, on connections sharing one snapshot.

A whole-period report reads about 500,000 rows in seven queries. On PostgreSQL each query's time is the
server's, spent in another process; run one after another, Python waits for each. Here `ahead()` starts them
all on connections of their own while Python computes the sections, and `rows()` hands a section its query's
rows when it asks (issue 17: a third off a whole-period report). Every connection imports the report's
snapshot (`pg_export_snapshot`), so the sections agree with each other exactly as if read in one transaction.

SQLite reads in this process, so a second connection would compete for the same core and could not share a
snapshot: there every read runs in order on the report's own session.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from warroom.reports.sql import fetch_all, is_sqlite

# Connections a report takes at most besides its own (the pool holds 10 plus overflow).
AHEAD_CONNECTIONS = 3
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+(-[0-9A-F]+)+")


class Reads:
    """The report's `session` (every section's small queries) and its big reads, named, perhaps started ahead."""

    def __init__(self, session: Session, started: Callable[[Any], Future[list[Any]]] | None = None) -> None:
        self.session = session
        self.sqlite = is_sqlite(session)
        self._start = started
        self._ahead: dict[str, Future[list[Any]]] = {}

    def ahead(self, name: str, statement: Any) -> None:
        """Start reading `statement` now when reads can run ahead (PostgreSQL); `rows(name, ...)` picks it up."""
        if self._start is not None and name not in self._ahead:
            self._ahead[name] = self._start(statement)

    def rows(self, name: str, statement: Any) -> list[Any]:
        """The rows of `statement` as the driver's tuples: read ahead under `name`, or read now."""
        future = self._ahead.pop(name, None)
        if future is not None:
            return future.result()
        return fetch_all(self.session, statement)

    def settle(self) -> None:
        """Wait for reads started but never asked for (a section not built), so no connection outlives us."""
        for future in self._ahead.values():
            future.exception()
        self._ahead.clear()


@contextmanager
def report_reads(session: Session) -> Iterator[Reads]:
    """The reads of one report over `session`: in order on SQLite; on PostgreSQL, in one snapshot, with up to
    AHEAD_CONNECTIONS more connections for the reads started ahead."""
    bind = session.get_bind()
    if bind.dialect.name == "sqlite" or not isinstance(bind, Engine):
        yield Reads(session)
        return
    with bind.connect() as lead_connection:
        lead = lead_connection.execution_options(isolation_level="REPEATABLE READ")
        snapshot = str(lead.execute(text("SELECT pg_export_snapshot()")).scalar_one())
        if not _SNAPSHOT_ID.fullmatch(snapshot):
            raise ValueError(f"unexpected snapshot id from PostgreSQL: {snapshot!r}")
        with Session(bind=lead) as lead_session, ThreadPoolExecutor(AHEAD_CONNECTIONS, "warroom-report") as pool:

            def read(statement: Any) -> list[Any]:
                with bind.connect() as connection:
                    same = connection.execution_options(isolation_level="REPEATABLE READ")
                    # A utility statement takes no bind parameter; the id is PostgreSQL's own, checked all the same.
                    same.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
                    try:
                        return fetch_all(same, statement)
                    finally:
                        same.rollback()

            reads = Reads(lead_session, lambda statement: pool.submit(read, statement))
            try:
                yield reads
            finally:
                reads.settle()
                lead.rollback()
