"""Test helpers: real local receivers (a webhook for Apprise json://, an SMTP server) and a warroom.yaml."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.conftest import free_port
from warroom.config import ConfigFile

NOTIFICATION_ID = re.compile(r"Notification: (n_[0-9a-f]{24})")


@dataclass
class Received:
    """One message a receiver got."""

    path: str
    title: str
    body: str
    at: float

    @property
    def notification(self) -> str | None:
        """The stable notification id the message carries."""
        match = NOTIFICATION_ID.search(self.body)
        return match.group(1) if match else None

    def link(self, action: str) -> str:
        """The one-click link for `action` (Acknowledge / Resolve) in the message."""
        match = re.search(rf"{action.capitalize()}: (\S+)", self.body)
        assert match, f"no {action} link in {self.body!r}"
        return match.group(1)


@dataclass
class Webhook:
    """An HTTP server on 127.0.0.1 recording Apprise json:// posts; `down` makes it answer 503.

    Its URLs start with a random path segment of its own. A post without it was not addressed through this
    receiver (a sender from another test, still retrying to a port the system has since given us) and is
    kept apart in `strays`, answered 404: a test counts only what was sent to it."""

    port: int = 0
    messages: list[Received] = field(default_factory=list)
    strays: list[Received] = field(default_factory=list)
    token: str = field(default_factory=lambda: secrets.token_hex(6))
    down: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: Any = None

    def url(self, path: str) -> str:
        """The Apprise URL that posts to `path` here."""
        return f"json://127.0.0.1:{self.port}/{self.token}/{path.lstrip('/')}"

    def at(self, path: str) -> list[Received]:
        """Messages posted to `path`."""
        with self.lock:
            return [m for m in self.messages if m.path == "/" + path.lstrip("/")]

    def ids(self, path: str | None = None) -> list[str]:
        """Notification ids received (repeats included), optionally only at `path`."""
        with self.lock:
            items = list(self.messages)
        return [m.notification or "" for m in items if path is None or m.path == "/" + path.lstrip("/")]

    def wait_for(self, count: int, timeout: float = 60.0, path: str | None = None) -> list[Received]:
        """Wait (real time, for real I/O) until `count` messages arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                got = [m for m in self.messages if path is None or m.path == "/" + path.lstrip("/")]
            if len(got) >= count:
                return got
            time.sleep(0.005)
        raise AssertionError(f"expected {count} messages, got {len(got)}")

    def start(self) -> Webhook:
        """Listen on a free port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                prefix = f"/{receiver.token}/"
                if not self.path.startswith(prefix):
                    data = json.loads(raw or b"{}")
                    stray = Received(self.path, data.get("title", ""), data.get("message", ""), time.monotonic())
                    with receiver.lock:
                        receiver.strays.append(stray)
                    self.send_response(404)
                    self.end_headers()
                    return
                if receiver.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                data = json.loads(raw or b"{}")
                path = self.path[len(prefix) - 1 :]
                with receiver.lock:
                    receiver.messages.append(
                        Received(path, data.get("title", ""), data.get("message", ""), time.monotonic())
                    )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """An SMTP server (aiosmtpd) on 127.0.0.1 keeping every message."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Received] = []
        mailbox = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = message_from_bytes(envelope.content)
                payload = message.get_payload(decode=True) if not message.is_multipart() else None
                if payload is None and message.is_multipart():
                    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
                    payload = part.get_payload(decode=True)
                body = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
                for to in envelope.rcpt_tos:
                    mailbox.messages.append(Received(to, str(message["subject"]), body, time.monotonic()))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def url(self, to: str) -> str:
        """The Apprise mailto:// URL that delivers to `to` here."""
        return f"mailto://127.0.0.1:{self.port}?smtp=127.0.0.1&mode=insecure&from=warroom@example.test&to={to}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait (real time) until `count` messages arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return list(self.messages)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} mails, got {len(self.messages)}")


def oncall_config(webhook: Webhook, **extra: Any) -> ConfigFile:
    """Alice is primary, Bob secondary, Carol the database expert; every contact is the local webhook."""
    dead = f"json://127.0.0.1:{free_port()}/nobody-listens"
    data: dict[str, Any] = {
        "users": [
            {"id": "alice", "name": "Alice Example", "contacts": [webhook.url("alice")]},
            {"id": "bob", "name": "Bob", "contacts": [webhook.url("bob")]},
            {"id": "carol", "contacts": [webhook.url("carol")]},
            {"id": "dora", "contacts": [{"label": "pager", "url": dead}]},
        ],
        "teams": [
            {
                "id": "database",
                "members": ["carol"],
                "channel": webhook.url("database-experts"),
                "services": ["postgres"],
                "policy": "database",
            },
        ],
        "schedules": [
            {"id": "primary", "layers": [{"rotation": {"participants": ["alice"], "shift": "1w"}}]},
            {"id": "secondary", "layers": [{"rotation": {"participants": ["bob"], "shift": "1w"}}]},
        ],
        "policies": [
            {
                "id": "default",
                "repeat": 1,
                "levels": [
                    {"notify": ["schedule:primary"], "escalate_after": "10m"},
                    {"notify": ["schedule:secondary"], "escalate_after": "20m"},
                    {"notify": ["team:database"], "escalate_after": "30m", "when": {"category": "database"}},
                ],
            },
            {"id": "database", "levels": [{"notify": ["channel:database"], "escalate_after": "5m"}]},
            {
                "id": "fragile",
                "levels": [
                    {"notify": ["user:dora"], "escalate_after": "1h"},
                    {"notify": ["user:bob"], "escalate_after": "1h"},
                ],
            },
        ],
    }
    data.update(extra)
    return ConfigFile.model_validate(data)
