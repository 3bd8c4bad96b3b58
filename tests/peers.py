"""Real peers from Debian for tests (redis-server, prometheus): found on PATH, installed with apt-get only when
missing (as tests/alerts/test_e2e_alertmanager.py gets Alertmanager), started on 127.0.0.1 on a free port in a
temporary folder, and stopped by the fixture that started them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_answering(url: str, process: subprocess.Popen[bytes], timeout: float, why: Callable[[], str]) -> None:
    """Poll `url` until it answers 200; fail with `why()` (the server's log) if the process dies or time is up."""

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, why()
        assert time.monotonic() < deadline, why()
        time.sleep(0.1)


def debian_program(program: str, package: str) -> str:
    """The path of `program`; Debian's `package` is installed first when it is missing (skip if it cannot be)."""
    if shutil.which(program) is None and shutil.which("apt-get"):
        command = ["apt-get", "install", "-y", "--no-install-recommends", package]
        if subprocess.run(command, capture_output=True, timeout=600).returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True, timeout=600)
            subprocess.run(command, capture_output=True, timeout=600)
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"Debian's {package} package could not be installed here")
    return path


class Peer:
    """A program started for the tests; its output goes to a log file quoted when it fails to start."""

    def __init__(self, command: list[str], log: Path) -> None:
        self.log = log
        with log.open("wb") as handle:
            self.process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)

    def wait_until(self, ready: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
        """Poll `ready` until true; fail with the program's log when it exits or the time is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{what} did not become ready:\n{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        """Stop the program (TERM, then KILL)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_engine(database_url: str, config_path: Path, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    """A real `warroom engine` process on `database_url` with `config_path`, its output in tmp_path/NAME.log."""
    env = dict(os.environ)
    env.update(
        WARROOM_DATABASE_URL=database_url,
        WARROOM_CONFIG=str(config_path),
        WARROOM_DATA_DIR=str(tmp_path / "data"),
        WARROOM_LOG_LEVEL="warning",
    )
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "warroom", "engine"], env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate` every 20 ms until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
