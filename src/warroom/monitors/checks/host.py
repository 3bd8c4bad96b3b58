"""Checks of this machine: `disk` (usage %), `memory` (used %), `load`, `process` (by name), `command`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
from pathlib import Path

from warroom.monitors.checks import DOWN, Check, CheckContext, Outcome, compare, down, up

MAX_OUTPUT = 4000
EXEC_OFF = "not run: command monitors are turned off on this server (WARROOM_ALLOW_EXEC=false)"


class DiskCheck(Check):
    """Usage of the filesystem holding `path`, as `df` shows it."""

    async def run(self, ctx: CheckContext) -> Outcome:
        """Compare used % with fail_if (default > 90)."""
        stats = os.statvfs(self.cfg.path or "/")
        used = stats.f_blocks - stats.f_bfree
        usable = used + stats.f_bavail
        percent = 100.0 * used / usable if usable else 0.0
        return compare(self.cfg, round(percent, 1), f"{self.cfg.path} used %")


def memory_used_percent(meminfo: str) -> float:
    """Used memory % from /proc/meminfo text (MemTotal - MemAvailable, as `free` shows it)."""
    values = {}
    for line in meminfo.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            values[key] = int(parts[0])
    total = values.get("MemTotal", 0)
    available = values.get("MemAvailable", values.get("MemFree", 0))
    return 100.0 * (total - available) / total if total else 0.0


class MemoryCheck(Check):
    """Used memory % (fail_if, default > 90)."""

    async def run(self, ctx: CheckContext) -> Outcome:
        """Read /proc/meminfo."""
        percent = memory_used_percent(Path("/proc/meminfo").read_text())
        return compare(self.cfg, round(percent, 1), "memory used %")


class LoadCheck(Check):
    """1-minute load average, per CPU by default (fail_if, default > 2)."""

    async def run(self, ctx: CheckContext) -> Outcome:
        """Read the load average."""
        load = os.getloadavg()[0]
        if self.cfg.per_cpu:
            return compare(self.cfg, round(load / (os.cpu_count() or 1), 2), "load per CPU")
        return compare(self.cfg, round(load, 2), "load")


def count_processes(name: str, proc: Path = Path("/proc")) -> int:
    """Processes whose name (comm) or program (argv[0]'s base name) is `name`."""
    count = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            if comm == name:
                count += 1
                continue
            argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0].decode("utf-8", "replace")
        except OSError:  # the process ended while we looked
            continue
        if argv0 and os.path.basename(argv0) == name:
            count += 1
    return count


class ProcessCheck(Check):
    """At least `min_count` processes named `process` run (from /proc)."""

    async def run(self, ctx: CheckContext) -> Outcome:
        """Count matching processes."""
        name = self.cfg.process or ""
        count = count_processes(name)
        if count < self.cfg.min_count:
            return down(f"{count} process(es) named {name!r} running, expected at least {self.cfg.min_count}")
        return up(f"{count} process(es) named {name!r} running", count=count)


def command_argv(command: str | list[str]) -> list[str]:
    """The argv of a command given as a string (split like a shell would, without a shell) or a list."""
    return list(command) if isinstance(command, list) else shlex.split(command)


class CommandCheck(Check):
    """Run a command (no shell) with the monitor's timeout; exit code 0 is up; the output is kept."""

    async def run(self, ctx: CheckContext) -> Outcome:
        """Run to completion; on timeout or cancellation the whole process group is killed."""
        if not ctx.access.allow_exec:
            # Local: the operator turned commands off; the target is not down, so nobody is paged for it.
            return Outcome(DOWN, EXEC_OFF, local=True)
        argv = command_argv(self.cfg.command or [])
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.cfg.cwd,
            start_new_session=True,  # its own process group, so that a timeout kills its children too
        )
        try:
            output, _ = await process.communicate()
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    await asyncio.shield(process.wait())
        text = output.decode("utf-8", "replace")
        kept = text[-MAX_OUTPUT:]
        last_line = next((line for line in reversed(text.strip().splitlines()) if line.strip()), "")
        code = process.returncode
        if code != 0:
            return down(f"exit {code}: {last_line}".rstrip(": "), exit_code=code, output=kept)
        return up(f"exit 0: {last_line}".rstrip(": "), exit_code=0, output=kept)
