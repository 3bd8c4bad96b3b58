"""Ends PostgreSQL calls that get no answer at all, so a frozen database answers 503 instead of hanging."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Dialect

STALL_GRACE_SECONDS = 2.0


class StallWatch:
    """Ends PostgreSQL calls that get no answer at all: a frozen server (or a network that drops everything)
    never enforces its own statement_timeout, and psycopg waits on the socket without a limit of its own.

    Every round trip (statement, commit, rollback, the pool's ping) is registered with a deadline; one daemon
    thread shuts down the socket of a call past it, which ends the wait with an error: SQLAlchemy sees a
    disconnect, drops the connection, and the caller answers 503. A live server cancels a slow statement
    itself at statement_timeout, before this deadline (statement_timeout + STALL_GRACE_SECONDS)."""

    def __init__(self, *, statement: float, connect: float) -> None:
        self.limit = statement + STALL_GRACE_SECONDS
        self.ping_limit = connect
        self._calls: dict[int, tuple[float, int]] = {}  # call number -> (deadline, socket fd)
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def install(self, dialect: Dialect) -> None:
        """Wrap the dialect's round trips (this engine's dialect instance only)."""
        for name in ("do_execute", "do_executemany", "do_execute_no_params"):
            setattr(dialect, name, self._watched(getattr(dialect, name), self.limit, cursor=True))
        for name in ("do_commit", "do_rollback"):
            setattr(dialect, name, self._watched(getattr(dialect, name), self.limit, cursor=False))
        dialect.do_ping = self._watched(dialect.do_ping, self.ping_limit, cursor=False)  # type: ignore[method-assign]

    def _watched(self, call: Callable[..., Any], limit: float, *, cursor: bool) -> Callable[..., Any]:
        def watched(target: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                fd = int((target.connection if cursor else target).pgconn.socket)
            except Exception:  # not connected (or not psycopg): nothing to watch
                return call(target, *args, **kwargs)
            number = next(self._numbers)
            self._calls[number] = (time.monotonic() + limit, fd)
            if self._thread is None:
                self._start()
            try:
                return call(target, *args, **kwargs)
            finally:
                self._calls.pop(number, None)

        return watched

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="warroom-db-stall-watch", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(0.2)
            now = time.monotonic()
            for number, (deadline, fd) in self._calls.copy().items():  # one C call: safe against writers
                if deadline <= now and self._calls.pop(number, None) is not None:
                    _shut_down(fd)


def _shut_down(fd: int) -> None:
    # shutdown() acts on the socket itself, so doing it through a duplicate descriptor wakes the thread blocked
    # on the original; closing the duplicate leaves the original for psycopg to close.
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
