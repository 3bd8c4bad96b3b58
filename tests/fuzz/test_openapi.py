"""Schemathesis against a real `warroom serve`, once per role: no route answers 5xx, and every answer is one the
OpenAPI document declares (status, content type, body schema, 405 with `Allow`).

Bounded and deterministic (a fixed seed, a few examples per operation, no stateful phase) so both backends
fit in about three minutes on two cores. The two operations that would make the server reach out to what the
fuzzer typed (a contact's URL, a monitor's target) are not fuzzed, and the server runs without an engine, so nothing
it is given is ever delivered or checked; outgoing HTTP is pointed at a dead loopback proxy all the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.peers import wait_answering

pytestmark = pytest.mark.fuzz

SEED = "20261202"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "unsupported_method",
        "allow_header_conformance",
    ]
)
# A test notification to a contact URL the fuzzer typed, a check of a monitor target it typed: traffic off the
# machine. (Runbook steps are fuzzed: the server has no runbook folder, so there is nothing to run.)
NOT_FUZZED = r"/users/\{user_id\}/test-notify$|/monitors/\{name\}/run$"
# Examples per operation in the fuzzing phase. The coverage phase (every boundary and every invalid form of each
# parameter, ~3,200 cases whatever the count here, ~40 s) runs with the admin token only, which passes every
# role check and so reaches every handler; the others mostly prove that refusals are answered as documented.
EXAMPLES = {"viewer": 5, "responder": 5, "admin": 8}
PHASES = {"viewer": "examples,fuzzing", "responder": "examples,fuzzing", "admin": "examples,coverage,fuzzing"}
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`warroom serve --no-engine` on a free 127.0.0.1 port; yields its URL and its (JSON) log file."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    env.update(
        WARROOM_DATABASE_URL=database_url,
        WARROOM_DATA_DIR=str(tmp_path / "data"),
        WARROOM_HOST="127.0.0.1",
        WARROOM_PORT=str(port),
        WARROOM_LOG_FORMAT="json",
        WARROOM_LOG_LEVEL="warning",
        HTTP_PROXY=dead_proxy,
        HTTPS_PROXY=dead_proxy,
        ALL_PROXY=dead_proxy,
        NO_PROXY="127.0.0.1,localhost",
    )
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "warroom", "serve", "--no-engine", "--no-migrate"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_answering(f"{url}/health", process, 30, log_path.read_text)
        yield url, log_path
    finally:
        process.terminate()
        process.wait(20)


@pytest.mark.parametrize("role", list(EXAMPLES))
def test_every_route_answers_as_documented_and_never_5xx(
    server: tuple[str, Path], role: str, make_token: Callable[..., str], tmp_path: Path
) -> None:
    url, log_path = server
    token = make_token(role)
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--phases",
            PHASES[role],
            "--max-examples",
            str(EXAMPLES[role]),
            "--seed",
            SEED,
            "--workers",
            "1",
            "--no-shrink",
            "--request-timeout",
            "10",
            "--exclude-path-regex",
            NOT_FUZZED,
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # schemathesis keeps a cache folder where it runs: not in the work tree
    )
    summary = done.stdout[done.stdout.find("SUMMARY") - 40 :] if "SUMMARY" in done.stdout else done.stdout[-4000:]
    print(summary)
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-2000:]
    # Nothing the fuzzer sent made the server log an error (a 500 it turned into something else, say).
    errors = [line for line in log_path.read_text().splitlines() if json.loads(line).get("level") == "error"]
    assert errors == []
    assert token not in log_path.read_text()
