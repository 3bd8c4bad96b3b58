"""The runner against real commands: exit codes, pipefail, streaming, timeouts, big output, daemons."""

from __future__ import annotations

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


def test_lines_stream_to_the_callback_as_they_come() -> None:
    seen: list[tuple[str, float]] = []
    start = time.monotonic()
    run_command(
        "echo one; sleep 0.3; echo two; printf 'no newline'",
        on_line=lambda line: seen.append((line, time.monotonic())),
    )
    assert [line for line, _ in seen] == ["one", "two", "no newline"]
    assert seen[0][1] - start < 0.25  # the first line arrived before the command finished


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "late"
    start = time.monotonic()
    result = run_command(f"echo started; (sleep 1.2; touch {marker}) & sleep 30", timeout=0.3)
    assert result.timed_out and not result.ok
    assert result.output == "started\n"
    assert time.monotonic() - start < 1.5
    time.sleep(1.3)
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
    assert time.monotonic() - start < 1
    assert "background" in result.note


def test_environment_and_working_directory(tmp_path: Path) -> None:
    result = run_command(
        'printf "%s %s" "$WARROOM_X" "$PWD"', env={"WARROOM_X": "1", "PATH": "/usr/bin:/bin"}, cwd=tmp_path
    )
    assert result.output == f"1 {tmp_path}"


def test_invalid_utf8_output_is_replaced_not_fatal() -> None:
    assert run_command(r"printf 'a\377b\n'").output == "a\ufffdb\n"
