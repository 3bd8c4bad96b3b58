"""`log` checks: a file appended to, rotated and truncated; counts in a window moved by the fake clock."""

from __future__ import annotations

import asyncio
import os

import pytest

from warroom.monitors.checks import Access, CheckContext, execute
from warroom.monitors.checks.logfile import LogCheck
from warroom.monitors.schemas import MonitorConfig


@pytest.fixture
def follow(clock, tmp_path):
    """A log check kept across runs (as the scheduler keeps it), on tmp_path/app.log."""
    log = tmp_path / "app.log"
    log.write_text("old ERROR before we started\n")

    def make(**definition):
        cfg = MonitorConfig.model_validate(
            {"name": "log", "service": "app", "type": "log", "path": str(log), **definition}
        )
        checker = LogCheck(cfg)
        ctx = CheckContext(clock.now, access=Access(log_folders=(tmp_path,)))

        def run():
            return asyncio.run(execute(checker, ctx))

        return run

    return log, make


def append(path, *lines):
    with path.open("a") as handle:
        handle.writelines(line + "\n" for line in lines)


def test_counts_new_matching_lines_within_the_window(follow, clock):
    log, make = follow
    run = make(pattern=r"ERROR", window="5m", fail_if="> 2")
    assert run().message == "0 matching lines in 5m"  # starts at the end, like tail -F
    append(log, "ERROR one", "fine", "ERROR two")
    assert (run().status, run().message) == ("up", "2 matching lines in 5m")
    clock.advance(minutes=1)
    append(log, "ERROR three")
    outcome = run()
    assert (outcome.status, outcome.message) == ("down", "3 matching lines in 5m (> 2)")
    clock.advance(minutes=4, seconds=30)  # the first two fall out of the window
    outcome = run()
    assert (outcome.status, outcome.message) == ("up", "1 matching lines in 5m")


def test_follows_a_rotation_without_losing_lines(follow):
    log, make = follow
    run = make(pattern=r"ERROR", window="1h", fail_if="> 100")
    run()
    append(log, "ERROR before rotation")
    os.rename(log, log.with_suffix(".log.1"))
    append(log.with_suffix(".log.1"), "ERROR written late to the old file")
    append(log, "ERROR in the new file", "ERROR again")
    assert run().message == "4 matching lines in 1h"
    append(log, "ERROR after")
    assert run().message == "5 matching lines in 1h"


def test_follows_a_truncation_in_place(follow):
    log, make = follow
    run = make(pattern=r"ERROR", window="1h", fail_if="> 100")
    run()
    append(log, "ERROR a", "ERROR b")
    assert run().message == "2 matching lines in 1h"
    log.write_text("")  # copytruncate
    append(log, "ERROR c")
    assert run().message == "3 matching lines in 1h"


def test_partial_lines_are_counted_once_complete(follow):
    log, make = follow
    run = make(pattern=r"ERROR$", window="1h")
    run()
    with log.open("a") as handle:
        handle.write("ERR")
    assert run().message == "0 matching lines in 1h"
    with log.open("a") as handle:
        handle.write("OR\n")
    assert run().status == "down"


def test_failed_logins_per_ip_name_the_ip(follow, clock):
    log, make = follow
    run = make(pattern=r"Failed password for \S+ from (?P<ip>[\d.]+)", group_by="ip", window="5m", fail_if="> 20")
    run()
    append(log, *[f"sshd: Failed password for root from 203.0.113.9 port {p}" for p in range(25)])
    append(log, *[f"sshd: Failed password for bob from 198.51.100.7 port {p}" for p in range(3)])
    outcome = run()
    assert outcome.status == "down"
    assert outcome.message == "203.0.113.9: 25 matching lines in 5m (> 20)"
    assert outcome.details["groups"] == {"203.0.113.9": 25}
    clock.advance(minutes=6)
    assert run().message == "0 matching lines in 5m, none > 20 per ip"


def test_a_missing_file_is_down_with_the_reason(check, tmp_path):
    outcome = check(type="log", path=str(tmp_path / "nope.log"), pattern="x")
    assert outcome.status == "down"
    assert "FileNotFoundError" in outcome.message


def test_a_one_off_run_reads_the_end_of_the_file(check, tmp_path):
    log = tmp_path / "app.log"
    log.write_text("ERROR a\nok\nERROR b\n")
    assert check(type="log", path=str(log), pattern="ERROR").message == "2 matching lines in 5m (> 0)"
