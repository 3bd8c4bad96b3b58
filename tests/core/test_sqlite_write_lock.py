"""On SQLite, write transactions of one process queue on a Python lock before BEGIN IMMEDIATE."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from warroom.db import Database, process_write_lock


def test_a_second_writer_waits_for_the_first_commit_then_proceeds(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with db.transaction() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    order: list[str] = []
    first_holds = threading.Event()
    second_started = threading.Event()

    def second() -> None:
        second_started.set()
        with db.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (2)"))  # the transaction begins here
            order.append("second began")

    lock = process_write_lock(db.engine)
    assert lock is not None and not lock.held
    session = db.write_session()
    session.execute(text("INSERT INTO t VALUES (1)"))
    assert lock.held  # the second writer queues on it, not in SQLite's sleeping busy handler
    first_holds.set()
    thread = threading.Thread(target=second)
    thread.start()
    second_started.wait(5)
    time.sleep(0.05)  # give the second writer time to reach the lock: it must still be waiting
    assert order == []
    order.append("first committed")
    session.commit()
    # The same session writes again after its commit: it takes the lock anew, after the second writer.
    thread.join(5)
    assert not thread.is_alive()
    session.execute(text("INSERT INTO t VALUES (3)"))
    session.commit()
    session.close()
    assert order == ["first committed", "second began"]
    assert not lock.held
    with db.session() as reader:
        assert [row[0] for row in reader.execute(text("SELECT n FROM t ORDER BY rowid"))] == [1, 2, 3]
    db.dispose()


def test_a_failed_transaction_releases_the_lock(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    lock = process_write_lock(db.engine)
    assert lock is not None
    with pytest.raises(OperationalError, match="no such table"), db.transaction() as session:
        session.execute(text("SELECT * FROM missing_table"))
    assert not lock.held
    done = threading.Event()

    def writer() -> None:
        with db.transaction() as session:
            session.execute(text("CREATE TABLE t (n INTEGER)"))
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert done.wait(5)
    thread.join()
    db.dispose()


def test_an_invalidated_connection_releases_the_lock(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with db.transaction() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    session = db.write_session()
    session.execute(text("INSERT INTO t VALUES (1)"))
    lock = process_write_lock(db.engine)
    assert lock is not None and lock.held
    session.connection().invalidate()  # as after a disconnect error: the pool drops the DBAPI connection
    session.close()
    assert not lock.held
    done = threading.Event()

    def writer() -> None:
        with db.transaction() as other:
            other.execute(text("INSERT INTO t VALUES (2)"))
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert done.wait(3), "the next writer of this process waited for a lock nobody holds"
    thread.join()
    db.dispose()
