"""Real local receivers for subscriber tests: an SMTP server keeping whole messages, a webhook keeping JSON."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.peers import free_port


class SmtpBox:
    """aiosmtpd on 127.0.0.1 keeping every message it accepted (headers and all); `refuse` answers 451."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.refuse = 0  # refuse this many messages (a temporary failure) before accepting again
        self.delay = 0.0  # seconds each message takes to accept (to catch a sender in the middle)
        box = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                if box.delay:
                    await asyncio.sleep(box.delay)
                with box.lock:
                    if box.refuse > 0:
                        box.refuse -= 1
                        return "451 4.3.0 try again later"
                    message = message_from_bytes(envelope.content, policy=policy.default)
                    assert isinstance(message, EmailMessage)
                    box.messages.append(message)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpBox:
        """Listen."""
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        """Messages addressed to `address`."""
        with self.lock:
            return [m for m in self.messages if str(m["To"]) == address]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait (real time: real I/O) until `count` messages arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")


def body_of(message: EmailMessage) -> str:
    """The plain-text body."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, action: str) -> str:
    """The path of the first /status/{action}/TOKEN link in the message's body."""
    match = re.search(rf"https?://[^/\s]+(/status/{action}/[A-Za-z0-9_-]+)", body_of(message))
    assert match, f"no {action} link in {body_of(message)!r}"
    return match.group(1)


@dataclass
class Hook:
    """An HTTP receiver on 127.0.0.1 keeping JSON bodies; answers 503 to the first `fail` posts."""

    fail: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: Any = None
    port: int = 0

    @property
    def url(self) -> str:
        """The URL to subscribe."""
        return f"http://127.0.0.1:{self.port}/hooks/status"

    def start(self) -> Hook:
        """Listen on a free port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    if receiver.fail > 0:
                        receiver.fail -= 1
                        receiver.refused += 1
                        self.send_response(503)
                        self.end_headers()
                        return
                    receiver.bodies.append(json.loads(raw))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.server.shutdown()
        self.server.server_close()
