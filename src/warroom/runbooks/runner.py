"""Running one command step: `bash -o pipefail -c`, a timeout, live output, and a bounded record of it."""

from __future__ import annotations

import codecs
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

MAX_OUTPUT = 64 * 1024
DEFAULT_TIMEOUT = 300.0
_KILL_GRACE = 0.5
# After bash exits, a background child may still hold the output pipe open; read what is already
# there for this long, then stop rather than wait for a process we did not mean to wait for.
_DRAIN_AFTER_EXIT = 0.1
_MAX_LINE = 4096


@dataclass(frozen=True)
class RunResult:
    """What happened when a command ran."""

    command: str
    exit_code: int | None
    duration: float
    output: str
    output_bytes: int
    truncated: bool
    timed_out: bool
    note: str = ""

    @property
    def ok(self) -> bool:
        """True when the command finished in time with exit code 0."""
        return self.exit_code == 0 and not self.timed_out


class _Output:
    """Keeps the first and last halves of at most `limit` bytes, counting everything."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        half = self.limit // 2
        room = half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.limit - half:
                del self.tail[: len(self.tail) - (self.limit - half)]

    def text(self) -> tuple[str, bool]:
        kept = len(self.head) + len(self.tail)
        if self.total <= self.limit or kept == self.total:
            return (bytes(self.head) + bytes(self.tail)).decode("utf-8", errors="replace"), False
        dropped = self.total - kept
        marker = f"\n[... {dropped} bytes of output not kept ...]\n"
        head = bytes(self.head).decode("utf-8", errors="replace")
        tail = bytes(self.tail).decode("utf-8", errors="replace")
        return head + marker + tail, True


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop the command and everything it started: TERM, then KILL after a short grace."""
    for sig, wait in ((signal.SIGTERM, _KILL_GRACE), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_command(
    command: str,
    *,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    max_output: int = MAX_OUTPUT,
) -> RunResult:
    """Run `command` with `bash -o pipefail -c`, stream its lines to `on_line`, stop it at `timeout`."""
    limit = DEFAULT_TIMEOUT if timeout is None else timeout
    started = time.monotonic()
    # A session of its own: on timeout we kill the whole process group, not just bash.
    proc = subprocess.Popen(
        ["bash", "-o", "pipefail", "-c", command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        start_new_session=True,
    )
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    output = _Output(max_output)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    timed_out = False
    note = ""
    deadline = started + limit
    exited_at: float | None = None

    def emit(text: str, final: bool = False) -> str:
        if on_line is None:
            return ""
        buffer = text
        while True:
            cut = buffer.find("\n")
            if cut < 0:
                break
            on_line(buffer[:cut])
            buffer = buffer[cut + 1 :]
        while len(buffer) > _MAX_LINE:
            on_line(buffer[:_MAX_LINE])
            buffer = buffer[_MAX_LINE:]
        if final and buffer:
            on_line(buffer)
            return ""
        return buffer

    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > _DRAIN_AFTER_EXIT:
                note = "a background process kept the output open; stopped reading when the command exited"
                break
            if exited_at is None and now >= deadline:
                timed_out = True
                _kill_group(proc)
                break
            wait = min(deadline - now, 0.05) if exited_at is None else _DRAIN_AFTER_EXIT
            if not selector.select(max(wait, 0.0)):
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                break
            output.add(chunk)
            pending = emit(pending + decoder.decode(chunk))
    if timed_out:
        # Keep whatever the killed command managed to write before it died.
        try:
            while chunk := os.read(fd, 65536):
                output.add(chunk)
                pending = emit(pending + decoder.decode(chunk))
        except (BlockingIOError, OSError):
            pass
    emit(pending + decoder.decode(b"", final=True), final=True)
    proc.stdout.close()
    try:
        exit_code: int | None = proc.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        exit_code = proc.poll()
    duration = time.monotonic() - started
    if timed_out:
        note = f"timed out after {limit:g}s; the command and its children were stopped"
    text, truncated = output.text()
    return RunResult(
        command=command,
        exit_code=exit_code,
        duration=duration,
        output=text,
        output_bytes=output.total,
        truncated=truncated,
        timed_out=timed_out,
        note=note,
    )
