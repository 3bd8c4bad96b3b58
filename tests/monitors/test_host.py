"""`disk`, `memory`, `load`, `process` and `command` checks on this machine."""

from __future__ import annotations

import os
import time
from pathlib import Path

from warroom.monitors.checks.host import memory_used_percent


def test_disk_usage_against_thresholds(check, tmp_path):
    assert check(type="disk", path=str(tmp_path), fail_if="> 100").status == "up"
    outcome = check(type="disk", path=str(tmp_path), fail_if=">= 0")
    assert outcome.status == "down"
    assert outcome.message.startswith(f"{tmp_path} used % = ")


def test_memory_used_percent_as_free_shows_it(check):
    meminfo = "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    250 kB\n"
    assert memory_used_percent(meminfo) == 75.0
    assert check(type="memory", fail_if="> 100").status == "up"
    assert check(type="memory", fail_if=">= 0").status == "down"


def test_load_per_cpu(check):
    outcome = check(type="load", fail_if="> 1000")
    assert outcome.status == "up" and outcome.message.startswith("load per CPU = ")
    assert check(type="load", per_cpu=False, fail_if=">= 0").status == "down"


def test_process_by_name(check, tmp_path):
    import subprocess

    program = tmp_path / "backup-agent-daemon"  # longer than the 15 characters /proc/PID/comm keeps
    program.symlink_to("/bin/sleep")
    daemon = subprocess.Popen([str(program), "30"])
    try:
        # Until the child has exec'd and /proc shows its new argv, nothing by that name runs yet.
        deadline = time.monotonic() + 5
        while (
            time.monotonic() < deadline
            and b"backup-agent-daemon" not in Path(f"/proc/{daemon.pid}/cmdline").read_bytes()
        ):
            time.sleep(0.01)
        outcome = check(type="process", process="backup-agent-daemon")
        assert (outcome.status, outcome.message) == ("up", "1 process(es) named 'backup-agent-daemon' running")
        assert check(type="process", process="backup-agent-daemon", min_count=2).status == "down"
    finally:
        daemon.kill()
        daemon.wait()
    outcome = check(type="process", process="backup-agent-daemon")
    assert outcome.message == "0 process(es) named 'backup-agent-daemon' running, expected at least 1"


def test_command_exit_code_and_output_kept(check, tmp_path):
    ok = check(type="command", command="sh -c 'echo checking; echo all good'")
    assert (ok.status, ok.message) == ("up", "exit 0: all good")
    assert ok.details["output"] == "checking\nall good\n"
    bad = check(type="command", command=["sh", "-c", "echo 'backup missing' >&2; exit 3"])
    assert (bad.status, bad.message) == ("down", "exit 3: backup missing")


def test_command_timeout_kills_the_process_group(check, tmp_path):
    marker = tmp_path / "child.pid"
    started = time.monotonic()
    outcome = check(
        type="command", command=["sh", "-c", f"sleep 30 & echo $! > {marker}; wait"], timeout=0.5, interval=5
    )
    assert time.monotonic() - started < 5
    assert (outcome.status, outcome.message) == ("down", "timed out after 0.5s")
    child = int(marker.read_text())
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        if Path(f"/proc/{child}/stat").read_text().split()[2] == "Z":
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the command's child survived the timeout")


def test_unknown_program_is_down_not_a_crash(check):
    outcome = check(type="command", command="no-such-program --flag")
    assert outcome.status == "down"
    assert "FileNotFoundError" in outcome.message
