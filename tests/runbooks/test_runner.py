"""The runner against real commands: exit codes, pipefail, streaming, timeouts, big output, daemons."""

from __future__ import annotations

import os
import time
from pathlib import Path

from warroom.runbooks.runner import MAX_OUTPUT, run_command


def test_exit_code_output_and_duration() -> None:
    result = run_command("echo out; echo err >&2; exit 3")
    assert result.exit_code == 3 and not result.ok
    assert result.output == "out\nerr\n"
    assert 0 <= result.duration < 2
    assert not result.timed_out and not result.truncated


def test_pipefail_makes_a_failing_pipe_fail() -> None:
    assert run_command("false | cat").exit_code == 1
    assert run_command("true | cat").ok


def test_lines_stream_to_the_callback_as_they_come(tmp_path: Path) -> None:
    # The command waits for the callback to have seen its first line before it goes on: only a runner that
    # streams can finish it (one that waits for the command's end would time out). No clock involved.
    go = tmp_path / "go"
    os.mkfifo(go)
    seen: list[str] = []

    def on_line(line: str) -> None:
        seen.append(line)
        if line == "one":
            # Non-blocking, retried until the command has reached its `read` (it may print "one" first): with
            # no command reading the pipe, the open fails instead of hanging the test.
            deadline = time.monotonic() + 30
            while True:
                try:
                    fd = os.open(go, os.O_WRONLY | os.O_NONBLOCK)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        return
                    time.sleep(0.01)
            os.write(fd, b"go\n")
            os.close(fd)

    result = run_command(f"echo one; read -r _ < {go}; echo two; printf 'no newline'", on_line=on_line, timeout=60)
    assert not result.timed_out, "the first line did not reach the callback before the command ended"
    assert seen == ["one", "two", "no newline"]


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "late"
    start = time.monotonic()
    # Seconds, not tenths: under CI's load bash took over 0.3 s to print its first line.
    result = run_command(f"echo started; (sleep 8; touch {marker}) & sleep 60", timeout=3)
    assert result.timed_out and not result.ok
    assert result.output == "started\n"
    assert time.monotonic() - start < 8  # killed at its timeout, not after the 60 s command
    time.sleep(max(0.0, start + 9 - time.monotonic()))
    assert not marker.exists()  # the background child was killed with the group


def test_large_output_keeps_head_and_tail_with_a_marker() -> None:
    result = run_command("seq 1 200000")
    assert result.truncated
    assert result.output_bytes == len("".join(f"{i}\n" for i in range(1, 200001)))
    assert len(result.output.encode()) < MAX_OUTPUT + 100
    assert result.output.startswith("1\n2\n3\n")
    assert result.output.endswith("199999\n200000\n")
    assert "bytes of output not kept" in result.output


def test_a_background_child_holding_stdout_does_not_block() -> None:
    start = time.monotonic()
    result = run_command("sleep 5 & echo started")
    assert result.ok and result.output == "started\n"
    assert time.monotonic() - start < 4  # not held until the 5 s child ends
    assert "background" in result.note


def test_environment_and_working_directory(tmp_path: Path) -> None:
    result = run_command(
        'printf "%s %s" "$WARROOM_X" "$PWD"', env={"WARROOM_X": "1", "PATH": "/usr/bin:/bin"}, cwd=tmp_path
    )
    assert result.output == f"1 {tmp_path}"


def test_invalid_utf8_output_is_replaced_not_fatal() -> None:
    assert run_command(r"printf 'a\377b\n'").output == "a\ufffdb\n"
