"""Real local targets for the monitors' tests: an HTTP(S) server that can be made slow, failing or to return
bad JSON, a self-signed certificate made with openssl, Debian's redis-server and prometheus started on free
loopback ports, a fake Prometheus API for answers the real one never gives, and helpers to run checks."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.peers import Peer, debian_program
from warroom.clock import FakeClock
from warroom.monitors.checks import Access, Outcome
from warroom.monitors.runner import run_once_sync
from warroom.monitors.schemas import MonitorConfig


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Behaviour:
    """What the target answers on /health: change it in a test."""

    status: int = 200
    delay: float = 0.0
    body: str = '{"status": "ok", "checks": [{"name": "db", "ok": true}]}'
    content_type: str = "application/json"
    hits: int = 0
    raise_error: bool = False

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


@dataclass
class Target:
    """A running local HTTP (and HTTPS) server."""

    port: int
    behaviour: Behaviour
    tls_port: int | None = None
    prometheus: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"https://localhost:{self.tls_port}"


def _app(behaviour: Behaviour, prometheus: dict[str, Any]) -> web.Application:
    async def health(request: web.Request) -> web.StreamResponse:
        behaviour.hits += 1
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        return web.Response(status=behaviour.status, text=behaviour.body, content_type=behaviour.content_type)

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/health")

    async def hang(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(3600)
        return web.Response(text="never")

    async def query(request: web.Request) -> web.StreamResponse:
        prometheus["last_query"] = request.query.get("query")
        return web.json_response(
            prometheus.get("answer", {"status": "success", "data": {"resultType": "vector", "result": []}})
        )

    app = web.Application()
    app.router.add_route("*", "/health", health)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/hang", hang)
    app.router.add_get("/api/v1/query", query)
    return app


class _ServerThread:
    def __init__(self, behaviour: Behaviour, prometheus: dict[str, Any], tls: tuple[Path, Path] | None) -> None:
        self.behaviour, self.prometheus, self.tls = behaviour, prometheus, tls
        self.port, self.tls_port = free_port(), free_port() if tls else None
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import ssl

        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(_app(self.behaviour, self.prometheus))
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        if self.tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.tls_port, ssl_context=context).start())
        self.runner = runner
        self.ready.set()
        self.loop.run_forever()  # no cleanup: /hang requests would hold it for the shutdown timeout

    def start(self) -> None:
        self.thread.start()
        assert self.ready.wait(60)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def make_certificate(directory: Path, *, days: int, names: str = "DNS:localhost,IP:127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate valid for `days`, made with the openssl command."""
    cert, key = directory / f"cert-{days}.pem", directory / f"key-{days}.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            str(days),
            "-subj",
            "/CN=localhost",
            "-addext",
            f"subjectAltName={names}",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


@pytest.fixture
def make_cert() -> Callable[..., tuple[Path, Path]]:
    """make_certificate, for tests that need their own."""
    return make_certificate


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost/127.0.0.1 valid 30 days."""
    return make_certificate(tmp_path_factory.mktemp("tls"), days=30)


@pytest.fixture(scope="session")
def _target_server(certificate: tuple[Path, Path]) -> Iterator[Target]:
    behaviour, prometheus = Behaviour(), {}
    server = _ServerThread(behaviour, prometheus, certificate)
    server.start()
    yield Target(server.port, behaviour, server.tls_port, prometheus)
    server.stop()


@pytest.fixture
def target(_target_server: Target) -> Iterator[Target]:
    """The local HTTP/HTTPS target, healthy at the start of each test."""
    _target_server.behaviour.reset()
    _target_server.prometheus.clear()
    yield _target_server
    _target_server.behaviour.reset()


@pytest.fixture
def real_now(clock: FakeClock) -> FakeClock:
    """The fake clock set to the real time (for certificates made now)."""
    clock.set(datetime.now(UTC))
    return clock


@pytest.fixture
def check_access(tmp_path: Path) -> Access:
    """What checks run by `check` may touch: log and sqlite files under the test's tmp_path, and commands."""
    return Access(log_folders=(tmp_path,), sqlite_folders=(tmp_path,), allow_exec=True)


@pytest.fixture
def check(clock: FakeClock, check_access: Access) -> Callable[..., Outcome]:
    """Run a check once from a monitor definition (a dict as in warroom.yaml) with the fake clock."""

    def run(**definition: Any) -> Outcome:
        definition.setdefault("name", "t")
        definition.setdefault("service", "svc")
        return run_once_sync(MonitorConfig.model_validate(definition), now=clock.now, access=check_access)

    return run


@pytest.fixture(name="eventually")
def eventually_fixture() -> Callable[..., Any]:
    """`eventually(predicate, timeout=60)`: poll real I/O until it holds."""
    return eventually


def eventually(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.05) -> Any:
    """Poll until `predicate()` is truthy (real I/O takes real time); fail with the last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)
        value = predicate()
    return value


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server of its own on a free loopback port, nothing saved to disk."""
    program = debian_program("redis-server", "redis-server")
    folder, port = tmp_path_factory.mktemp("redis"), free_port()
    command = [program, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder), "--save", ""]
    peer = Peer([*command, "--appendonly", "no", "--daemonize", "no"], folder / "redis.log")

    def pong() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    peer.wait_until(pong, "redis-server")
    yield f"redis://127.0.0.1:{port}/0"
    peer.stop()


@pytest.fixture(scope="session")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus on a free loopback port scraping itself every second, once it has a first sample."""
    program = debian_program("prometheus", "prometheus")
    folder, port = tmp_path_factory.mktemp("prometheus"), free_port()
    config = folder / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: self\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    )
    command = [program, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}"]
    peer = Peer([*command, f"--web.listen-address=127.0.0.1:{port}"], folder / "prometheus.log")
    url = f"http://127.0.0.1:{port}"

    def scraped() -> bool:
        query = urllib.parse.urlencode({"query": 'up{job="self"}'})
        with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=1) as answer:
            return bool(json.load(answer)["data"]["result"])

    peer.wait_until(scraped, "prometheus", timeout=30)
    yield url
    peer.stop()
