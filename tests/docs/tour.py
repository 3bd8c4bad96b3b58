"""Runs a Markdown doc's shell blocks as a tour: a real server, the shipped examples, the real CLI.

The convention the docs follow (docs/README is the doc itself; this module is the only reader):

- A ```sh block is a tour a user runs. Its blocks run in order, each with `bash -euo pipefail` in a
  temporary folder laid out like a checkout of this repository (`examples/` copied in, `data/` for the
  server); variables a block exports are seen by the blocks after it.
- A ```console block shows commands (`$ ` lines, `\\` continues one) followed by their output: each
  command runs like a ```sh line (a non-zero exit allowed: the doc may show an error) and its output
  must match (``...`` stands for any text; a timestamp the clock made during the tour matches any such
  timestamp, a fixed one must be exact).
- Reference syntax (`[--json]`, `RUNBOOK`, `a / b`) goes in ```text blocks or tables: never run.
- A marker on the line right before a fence changes that block:
  `<!-- tour: server -->` — the block is the doc's `warroom serve` line. It is started in the background
  at that point of the tour (and stopped at the end), and the tour waits until it answers.
  `<!-- tour: skip REASON -->` — not run, and REASON says why. Exceptions are few and each is justified.
- Every URL an executed block names must be on loopback: the harness refuses any other host.

Ports are the one thing substituted, in the doc's text and in the copied examples alike (PORTS below):
the docs say 8080 for the server and 9999 / 8081 / 2525 for the local receivers a reader would run; the
tour gives each its own free port so tours can run side by side.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
VENV_BIN = Path(sys.executable).parent

# The ports the docs and examples name, and which local peer the tour puts behind each.
DOC_SERVER_PORT = 8080  # `warroom serve` (and the CLI's default WARROOM_URL)
DOC_HOOK_PORTS = (9999, 8081)  # a json:// receiver and an HTTP health endpoint: one small server
DOC_SMTP_PORT = 2525  # mailto:// contacts

FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)(.*)$")
MARKER = re.compile(r"^<!--\s*tour:\s*(server|skip)\b\s*(.*?)\s*-->\s*$")
URL_HOST = re.compile(r"\b[a-z][a-z0-9+.-]*://(?:[^@/\s\"'?#]*@)?([^/:\s\"'?#,)]+)", re.IGNORECASE)
LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?")
EXECUTED = {"sh", "console"}
BLOCK_TIMEOUT = 300  # seconds


@dataclass
class Block:
    """One fenced block of a doc, with where it starts and what its marker says."""

    doc: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    marker: str | None = None  # "server" or "skip"
    reason: str = ""

    @property
    def where(self) -> str:
        doc = self.doc.relative_to(ROOT) if self.doc.is_relative_to(ROOT) else self.doc
        return f"{doc}:{self.line}"

    @property
    def executed(self) -> bool:
        return self.lang in EXECUTED and self.marker != "skip"


def parse(doc: Path) -> list[Block]:
    """Every fenced block of `doc`, in order, with its marker."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        ticks, lang = m.group(1), m.group(2)
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(ticks):
            body.append(lines[i])
            i += 1
        i += 1
        block = Block(doc=doc, line=start + 1, lang=lang, text="\n".join(body) + "\n")
        if start > 0 and (mk := MARKER.match(lines[start - 1])):
            block.marker, block.reason = mk.group(1), mk.group(2)
        blocks.append(block)
    return blocks


def foreign_hosts(text: str) -> list[str]:
    """Hosts named in URLs of `text` that are not loopback (`$VAR` hosts are the doc's own variables)."""
    hosts = [h for h in URL_HOST.findall(text) if not h.startswith("$")]
    return [h for h in hosts if h.lower() not in LOOPBACK]


def console_steps(text: str) -> list[tuple[int, str, str]]:
    """A console block as (line offset, command, expected output) triples."""
    steps: list[tuple[int, str, list[str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            offset = i
            command = [line[2:]]
            while command[-1].endswith("\\") and i + 1 < len(lines):
                i += 1
                command.append(lines[i])
            steps.append((offset, "\n".join(command), []))
        elif steps:
            steps[-1][2].append(line)
        i += 1
    return [(off, cmd, "\n".join(out)) for off, cmd, out in steps]


def _lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def _stamp(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def output_matches(expected: str, actual: str, *, since: datetime | None = None) -> bool:
    """Whether `actual` is what the doc shows. `...` stands for any text. A timestamp the clock made while
    the tour ran (after `since`) stands for any such timestamp, since the doc was written on another day;
    any other timestamp (a fixed `--at`, a calendar's event) must be exactly as shown."""
    now = datetime.now(UTC) + timedelta(minutes=5)
    start = (since or now - timedelta(days=1)) - timedelta(minutes=5)

    def clocked(match: re.Match[str]) -> str:
        moment = _stamp(match.group(0))
        return "<now>" if moment is not None and start <= moment <= now else match.group(0)

    seen = _lines(TIMESTAMP.sub(clocked, actual))
    # A shown timestamp the output does not have literally was the author's clock: it matches the tour's.
    shown = _lines(TIMESTAMP.sub(lambda m: m.group(0) if m.group(0) in actual else "<now>", expected))
    pieces = [re.escape(p) for p in shown.split("...")]
    return re.fullmatch(".*?".join(pieces), seen, re.DOTALL) is not None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Hook(BaseHTTPRequestHandler):
    """A json:// receiver and a health endpoint: POSTs are kept, GETs answer {"status": "ok"}."""

    received: list[tuple[str, bytes]]

    def do_GET(self) -> None:
        self._answer(b'{"status": "ok"}')

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append((self.path, self.rfile.read(length)))  # type: ignore[attr-defined]
        self._answer(b"{}")

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class TourFailed(AssertionError):
    """A block of a doc failed: names the doc, the line and the output."""


@dataclass
class Tour:
    """One doc's tour: a working folder, the peers it talks to, its server, and the blocks run in order."""

    doc: Path
    workdir: Path
    ports: dict[int, int] = field(default_factory=dict)
    server: subprocess.Popen[bytes] | None = None
    ran: list[str] = field(default_factory=list)
    received: list[tuple[str, bytes]] = field(default_factory=list)  # (path, body) of POSTs to the hook
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    _stoppers: list[Any] = field(default_factory=list)

    # -- set-up ----------------------------------------------------------------------------------------------

    def start_peers(self) -> None:
        """A hook server (json:// and health) and an SMTP server on loopback, on free ports."""
        hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
        hook.received = self.received  # type: ignore[attr-defined]
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        self._stoppers.append(hook.shutdown)
        from aiosmtpd.controller import Controller

        class Sink:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                return "250 OK"

        smtp_port = free_port()
        smtp = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
        smtp.start()
        self._stoppers.append(smtp.stop)
        self.ports = {DOC_SERVER_PORT: free_port(), DOC_SMTP_PORT: smtp_port}
        for port in DOC_HOOK_PORTS:
            self.ports[port] = int(hook.server_address[1])

    def substitute(self, text: str) -> str:
        """The doc's loopback ports replaced by the tour's own (the one substitution the harness makes)."""
        for doc_port, port in self.ports.items():
            text = re.sub(rf"(127\.0\.0\.1|localhost):{doc_port}\b", rf"\g<1>:{port}", text)
        return text

    def lay_out(self) -> None:
        """The working folder: `examples/` copied in (ports substituted), nothing else."""
        shutil.copytree(EXAMPLES, self.workdir / "examples")
        for path in (self.workdir / "examples").rglob("*"):
            if path.is_file() and path.suffix in {".yaml", ".yml", ".md", ".ics"}:
                path.write_text(self.substitute(path.read_text(encoding="utf-8")), encoding="utf-8")

    def env(self) -> dict[str, str]:
        """What a reader's shell has: no WARROOM_* of ours, the venv's bin first, a fixed terminal width."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
        env.update(
            PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            HOME=str(self.workdir),
            COLUMNS="100",
            NO_COLOR="1",
            TERM="dumb",
            # The CLI's default WARROOM_URL is the doc's 8080: the same substitution as in the text.
            WARROOM_URL=f"http://127.0.0.1:{self.ports[DOC_SERVER_PORT]}",
            WARROOM_PORT=str(self.ports[DOC_SERVER_PORT]),
        )
        return env

    # -- running ---------------------------------------------------------------------------------------------

    def run(self, blocks: list[Block]) -> None:
        """Run every executed block of the doc in order; raise TourFailed at the first failure."""
        state = self.workdir / ".tour-env.sh"
        state.write_text("")
        try:
            for block in blocks:
                if not block.executed:
                    continue
                hosts = foreign_hosts(block.text)
                if hosts:
                    raise TourFailed(f"{block.where}: executed block names non-loopback hosts {hosts}")
                text = self.substitute(block.text)
                if block.marker == "server":
                    self.start_server(block, text)
                elif block.lang == "console":
                    for offset, command, expected in console_steps(text):
                        # The shown output is the check, also of a command shown failing (an error line).
                        out = self.shell(block, command, state, line=block.line + 1 + offset, shown=True)
                        if not output_matches(expected, out, since=self.started):
                            raise TourFailed(
                                f"{block.where}: line {block.line + 1 + offset}: `{command}` printed\n{out}\n"
                                f"but the doc shows\n{expected}"
                            )
                else:
                    self.shell(block, text, state, line=block.line + 1)
        finally:
            self.stop()

    def shell(self, block: Block, text: str, state: Path, *, line: int, shown: bool = False) -> str:
        """Run `text` with bash -euo pipefail after the exports of earlier blocks; return its output.
        `shown`: a console command, whose exit status the doc cannot show: its output is compared instead."""
        if shown:
            text = f"{{ {text}\n}} || true"
        # LINENO counts from the script's first line; the prologue is one line long.
        where = f"{block.doc.name} line $(( LINENO + {line - 2} ))"
        script = f"source {state}; trap 'echo \"tour: failed at {where}\" >&2' ERR\n{text}\nexport -p > {state}\n"
        started = time.monotonic()
        try:
            proc = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=self.workdir,
                env=self.env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # A block of 20 commands takes ~10 s here; a shared 2-core machine at load 12 took 120 s.
                timeout=BLOCK_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode("utf-8", "replace")
            raise TourFailed(
                f"{block.where}: the block starting at line {line} ran over {BLOCK_TIMEOUT} s; its output so far:\n"
                f"{out}" + self.server_log_tail()
            ) from None
        out = proc.stdout.decode("utf-8", "replace")
        self.ran.append(f"{block.where} ({time.monotonic() - started:.1f} s)")
        if proc.returncode != 0:
            raise TourFailed(
                f"{block.where}: the block starting at line {line} exited {proc.returncode}:\n{out}"
                + self.server_log_tail()
            )
        return out

    def start_server(self, block: Block, text: str) -> None:
        """Start the doc's `warroom serve` line in the background and wait until it answers."""
        commands = [ln for ln in (x.split("#")[0].strip() for x in text.splitlines()) if ln]
        if len(commands) != 1 or "warroom serve" not in commands[0]:
            raise TourFailed(f"{block.where}: a server block holds one `warroom serve` command, not {commands}")
        log = (self.workdir / "server.log").open("wb")
        self.server = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", commands[0]],
            cwd=self.workdir,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until_ready(self.ports[DOC_SERVER_PORT], self.workdir / "data" / "admin-token", self.server, block)

    def server_log_tail(self) -> str:
        log = self.workdir / "server.log"
        if not log.exists():
            return ""
        return "\n--- server log (last 20 lines) ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait()
        for stop in reversed(self._stoppers):
            stop()
        self._stoppers.clear()


def wait_until_ready(port: int, token_file: Path, proc: subprocess.Popen[bytes], block: Block) -> None:
    """Poll /ready until the server answers 200 and has written its admin token (60 s at most)."""
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise TourFailed(f"{block.where}: `warroom serve` exited {proc.returncode} before it answered")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200 and token_file.exists():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TourFailed(f"{block.where}: `warroom serve` did not answer on 127.0.0.1:{port} within 60 s")


def docs() -> list[Path]:
    """The docs whose tours run: the README and docs/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def all_blocks() -> Iterator[Block]:
    for doc in docs():
        yield from parse(doc)


__all__ = ["Block", "Tour", "TourFailed", "all_blocks", "docs", "output_matches", "parse"]
