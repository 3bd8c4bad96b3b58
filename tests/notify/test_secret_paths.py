"""Secrets that travel in a path (an intake key, a one-click link, a heartbeat token, a feed token) are never
echoed: not in a problem's `instance`, not in a redirect's Location, not in a log line, the access log included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from warroom import db as dbmod


def secrets_in_paths(api: Any, runtime: Any) -> dict[str, tuple[str, str]]:
    """Each kind of path secret: (the path carrying it, the secret)."""
    from warroom.notify import links

    key = api.post("/api/v1/integrations", json={"name": "am", "type": "alertmanager"}).json()["key"]
    beat = api.post("/api/v1/monitors", json={"name": "backup", "service": "b", "type": "heartbeat", "period": "1h"})
    token = beat.json()["token"]
    with runtime.db.transaction() as session:
        signing = links.signing_key(session, runtime.clock.now())
    link = links.sign(signing, {"k": "act", "i": 1, "a": "resolve", "u": None, "n": None, "e": 4_000_000_000})
    return {
        "intake": (f"/api/v1/intake/{key}", key),
        "heartbeat": (f"/api/v1/heartbeats/{token}", token),
        "link": (f"/l/{link}", link),
    }


def assert_not_echoed(answer: httpx.Response, secret: str) -> None:
    assert secret not in answer.text, answer.text
    for name, value in answer.headers.items():
        assert secret not in value, (name, value)


def test_error_answers_never_echo_a_path_secret(api, runtime, client_for):
    anonymous = client_for(None)
    for kind, (path, secret) in secrets_in_paths(api, runtime).items():
        for method, url, body in (
            ("PUT", path, b"{}"),  # 405
            ("DELETE", path, b""),  # 405
            ("GET", path + "/more", b""),  # 404
            ("POST", path + "/", b"{}"),  # a trailing slash: once a 307 to the secret path
            ("GET", path + "/", b""),
            ("POST", path, b"x" * (1024 * 1024 + 10)),  # 413
        ):
            answer = anonymous.request(method, url, content=body, follow_redirects=False)
            assert answer.status_code in (401, 403, 404, 405, 410, 413, 422), (kind, method, url, answer.status_code)
            assert not 300 <= answer.status_code < 400, (kind, method, url, answer.headers)
            assert_not_echoed(answer, secret)
            if answer.headers["content-type"] == "application/problem+json" and "instance" in answer.json():
                assert "***" in answer.json()["instance"], (kind, answer.json())


def test_a_wrong_heartbeat_token_is_not_echoed_either(client_for):
    # A mistyped token is most of a real one.
    answer = client_for(None).get("/api/v1/heartbeats/almost-the-real-token")
    assert answer.status_code == 404
    assert_not_echoed(answer, "almost-the-real-token")
    assert answer.json()["instance"] == "/api/v1/heartbeats/***"


def test_a_feed_token_is_not_echoed(api, client_for):
    api.post("/api/v1/users", json={"id": "erin", "contacts": []})
    url = api.get("/api/v1/feeds/users/erin").json()["url"].replace("http://127.0.0.1:8080", "")
    token = url.split("token=")[1]
    answer = client_for(None).put(url)
    assert answer.status_code == 405
    assert_not_echoed(answer, token)


@pytest.mark.backend("sqlite")
def test_the_uvicorn_access_log_redacts_path_secrets(backend, tmp_path: Path):
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'warroom.db'}"
    data.mkdir()
    dbmod.upgrade(url)
    port = free_port()
    env = dict(os.environ, WARROOM_DATA_DIR=str(data), WARROOM_DATABASE_URL=url, WARROOM_LOG_LEVEL="info")
    # uvicorn's own command line, as an operator running the factory behind it would: access log on.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "warroom.server:worker_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    secrets = {
        "intake": "wr-intake-secret-0123456789abcdef",
        "heartbeat": "wr-heartbeat-secret-0123456789",
        "link": "eyJsaW5rIjoxfQ.link-signature-secret",
        "feed": "feed-token-secret-0123456789",
    }
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        httpx.post(f"{base}/api/v1/intake/{secrets['intake']}", content=b"{}")
        httpx.get(f"{base}/api/v1/heartbeats/{secrets['heartbeat']}")
        httpx.post(f"{base}/l/{secrets['link']}")
        httpx.get(f"{base}/ical/users/alice.ics?token={secrets['feed']}")
        httpx.get(f"{base}/health")  # a line without secrets, to know the log is on
        time.sleep(0.3)
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=20)[0].decode(errors="replace")
    assert '"GET /health HTTP/1.1" 200' in output, output
    for kind, secret in secrets.items():
        assert secret not in output, (kind, output)
    assert "/api/v1/intake/***" in output and "/api/v1/heartbeats/***" in output and "/l/***" in output
    assert "/ical/users/alice.ics?token=***" in output
