"""`warroom demo` end to end, as a person runs it: the real command in a subprocess, each step narrated in
order, the data folder left with the resolved incident, its timeline and INCIDENTS.md; Ctrl-C stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from warroom.db import Database
from warroom.demo.walk import STEPS
from warroom.incidents import service as incidents
from warroom.incidents import timeline

WARROOM = [sys.executable, "-m", "warroom"]


def _env() -> dict[str, str]:
    # The demo must not depend on (or be redirected by) anything exported in the shell that runs it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env["WARROOM_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/nowhere"
    env["COLUMNS"] = "200"
    return env


class Running:
    """`warroom demo` in a subprocess, its stdout collected line by line."""

    def __init__(self, *args: str) -> None:
        self.received = bytearray()
        self.proc = subprocess.Popen(
            [*WARROOM, "demo", *args],
            env=_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        # Chunks, not lines: the interactive prompt ("Press Enter ...") ends without a newline.
        assert self.proc.stdout is not None
        while chunk := os.read(self.proc.stdout.fileno(), 65536):
            self.received += chunk

    @property
    def output(self) -> str:
        """Everything printed so far (decoded whole: a chunk may end inside a character)."""
        return bytes(self.received).decode(errors="replace")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.proc.poll() is None, f"demo exited {self.proc.returncode}: {self.output}"
            assert time.monotonic() < deadline, f"{text!r} not seen in {self.output}"
            time.sleep(0.05)

    def finish(self, timeout: float) -> tuple[int, str, str]:
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:  # stop it the way a person would, so it stops its server too
                self.proc.send_signal(signal.SIGINT)
                self.proc.wait(timeout=20)
        self._reader.join(timeout=5)
        assert self.proc.stderr is not None
        return self.proc.returncode, self.output, self.proc.stderr.read().decode()


def _url(output: str) -> str:
    match = re.search(r"warroom serves (http://127\.0\.0\.1:\d+)", output)
    assert match, output
    return match.group(1)


def test_the_demo_walks_the_whole_loop_and_leaves_its_data_folder(tmp_path: Path):
    folder = tmp_path / "demo"
    started = time.monotonic()
    code, out, err = Running("--non-interactive", "--data-dir", str(folder)).finish(timeout=120)
    took = time.monotonic() - started
    assert code == 0, out + err
    assert "Traceback" not in out + err
    assert took < 60, f"the demo took {took:.0f} s"

    # Every step is narrated, in order, each saying where to look.
    positions = [out.find(f"Step {n}/{len(STEPS)}: {title}") for n, title in enumerate(STEPS, start=1)]
    assert -1 not in positions, out
    assert positions == sorted(positions)
    assert out.count("look:") >= len(STEPS)
    assert str(folder) in out.splitlines()[0] and str(folder) in out.splitlines()[-1]
    # The page is shown whole, with its one-click links.
    assert re.search(r"Acknowledge: http://127\.0\.0\.1:\d+/l/\S+", out), out
    assert "cat fault" in out and "stuck on a bad cache entry" in out  # the automatic diagnosis and its output
    assert "rm -f fault" in out

    # The data folder holds the resolved incident and its whole story.
    database = Database(f"sqlite:///{folder / 'warroom.db'}")
    try:
        with database.session() as session:
            incident = incidents.get(session, 1)
            assert incident is not None
            assert incident.status == "resolved"
            assert incidents.get(session, 2) is None  # one breakage, one incident
            events = timeline.events(session, incident.id)
    finally:
        database.dispose()
    kinds = [e.kind for e in events]
    for kind in (
        "declared",
        "alert_attached",
        "notification_sent",
        "notification_acknowledged",
        "runbook_step_ran",
        "alert_resolved",
    ):
        assert kind in kinds, kinds
    assert kinds[-1] in ("resolved", "runbook_finished") and "resolved" in kinds, kinds
    ran = {e.data["command"]: e.data for e in events if e.kind == "runbook_step_ran"}
    assert "stuck on a bad cache entry" in ran["cat fault"]["output"]
    assert ran["rm -f fault"]["exit_code"] == 0
    ack = next(e for e in events if e.kind == "notification_acknowledged")
    assert ack.actor == "dana"
    resolved = next(e for e in events if e.kind == "resolved")
    assert "dana" in resolved.actor
    order = [kinds.index(k) for k in ("declared", "notification_sent", "notification_acknowledged")]
    assert order == sorted(order) and order[-1] < kinds.index("resolved")

    report = (folder / "INCIDENTS.md").read_text()
    assert "demo-web is down" in report and "resolved" in report
    assert (folder / "warroom.yaml").exists() and list((folder / "inbox").iterdir())
    assert not (folder / "service" / "fault").exists()


@pytest.mark.parametrize(("mode", "stop_at"), [("interactive", "Press Enter"), ("--non-interactive", "Step 4/")])
def test_ctrl_c_stops_the_servers_and_leaves_the_folder(tmp_path: Path, mode: str, stop_at: str):
    folder = tmp_path / "demo"
    args = ["--data-dir", str(folder)] + ([mode] if mode.startswith("--") else [])
    demo = Running(*args)
    demo.wait_for(stop_at)
    url = _url(demo.output)
    assert httpx.get(f"{url}/health", timeout=5).status_code == 200
    demo.proc.send_signal(signal.SIGINT)
    # Stopping waits up to 10 s for the server (then kills it) and closes the service and inbox: a loaded CI
    # machine once needed over 30 s.
    code, out, err = demo.finish(timeout=60)
    assert code == 130, out + err
    assert "Traceback" not in out + err
    assert f"data folder is left in {folder}" in err
    assert (folder / "warroom.db").exists() and (folder / "warroom.yaml").exists()
    with pytest.raises(httpx.ConnectError):  # warroom serve was stopped with the demo
        httpx.get(f"{url}/health", timeout=5)


def test_a_used_folder_is_refused_with_how_to_start_fresh(tmp_path: Path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "warroom.db").write_text("")
    result = subprocess.run(
        [*WARROOM, "demo", "--non-interactive", "--data-dir", str(folder)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"rm -r {folder}" in result.stderr and "--data-dir" in result.stderr


def test_interactive_pauses_for_enter_and_goes_on_when_input_ends(tmp_path: Path):
    # Three presses of Enter, then stdin closes (as with `warroom demo < file`): the demo waits at each of the
    # first three pauses, then cannot wait any more and walks the rest without a crash.
    folder = tmp_path / "demo"
    result = subprocess.run(
        [*WARROOM, "demo", "--data-dir", str(folder)],
        env=_env(),
        input="\n\n\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.count("Press Enter for the next step") == 4  # three answered, the fourth hit the end
    assert "going on without pausing" in result.stdout
    assert f"Step {len(STEPS)}/{len(STEPS)}" in result.stdout
    assert (folder / "INCIDENTS.md").exists()


def test_sigterm_stops_the_servers_too(tmp_path: Path):
    folder = tmp_path / "demo"
    demo = Running("--non-interactive", "--data-dir", str(folder))
    demo.wait_for("Step 3/")
    url = _url(demo.output)
    demo.proc.send_signal(signal.SIGTERM)
    code, out, err = demo.finish(timeout=30)
    assert code == 143, out + err
    assert "Traceback" not in out + err
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=5)


def test_the_example_runbooks_are_clean_under_lint_and_the_demo_ships_them(tmp_path: Path):
    from warroom.demo.files import RUNBOOK, runbook_text

    examples = Path(__file__).resolve().parents[2] / "examples" / "runbooks"
    assert (examples / f"{RUNBOOK}.md").read_text() == runbook_text()
    result = subprocess.run(
        [*WARROOM, "runbook", "lint", str(examples)], env=_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s), 0 warning(s)" in result.stdout + result.stderr


def test_a_server_that_dies_mid_walk_is_one_line_not_a_traceback(tmp_path: Path):
    # Killed while the demo waits for Enter before step 8, whose first request goes straight to the server.
    folder = tmp_path / "demo"
    demo = Running("--data-dir", str(folder))
    assert demo.proc.stdin is not None
    demo.proc.stdin.write(b"\n" * 6)  # the pauses before steps 2 to 7
    demo.proc.stdin.flush()
    demo.wait_for("Step 7/")
    deadline = time.monotonic() + 60
    while demo.output.count("Press Enter for the next step") < 7:
        assert time.monotonic() < deadline and demo.proc.poll() is None, demo.output
        time.sleep(0.05)
    port = _url(demo.output).rsplit(":", 1)[1]
    found = subprocess.run(["pgrep", "-f", f"warroom serve --port {port} "], capture_output=True, text=True)
    (pid,) = [int(p) for p in found.stdout.split()]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    demo.proc.stdin.write(b"\n")
    demo.proc.stdin.flush()
    code, out, err = demo.finish(timeout=60)
    assert code == 1, out + err
    assert "Traceback" not in out + err
    assert "error:" in err and str(folder) in err
    assert "server.log" in err  # where to look for why
