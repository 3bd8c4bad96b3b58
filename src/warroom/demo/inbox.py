"""The demo's inbox: an HTTP server on 127.0.0.1 receiving Apprise json:// pages, kept in a folder too."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Message:
    """One page as it arrived."""

    path: str
    title: str
    body: str

    def link(self, action: str) -> str | None:
        """The one-click link for `action` (acknowledge, resolve) in the body, if any."""
        match = re.search(rf"^{action.capitalize()}: (\S+)$", self.body, re.MULTILINE)
        return match.group(1) if match else None


class Inbox:
    """Records every json:// post; each message is also written to `folder/NNN-<path>.txt` to read later."""

    def __init__(self, folder: Path, port: int = 0) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-inbox", daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    def contact(self, person: str) -> str:
        """The Apprise URL that delivers `person`'s pages here."""
        return f"json://127.0.0.1:{self.port}/{person}"

    def start(self) -> Inbox:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def wait(self, count: int, timeout: float) -> list[Message]:
        """The first `count` messages, waiting up to `timeout` seconds for them; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages[:count])
            if time.monotonic() > deadline:
                raise TimeoutError(f"no page arrived in the inbox within {timeout:.0f} s")
            time.sleep(0.05)

    def _receive(self, path: str, raw: bytes) -> None:
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            data = {"message": raw.decode("utf-8", "replace")}
        if not isinstance(data, dict):
            data = {"message": str(data)}
        message = Message(path, str(data.get("title", "")), str(data.get("message", "")))
        with self._lock:
            self.messages.append(message)
            number = len(self.messages)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", path.strip("/")) or "inbox"
        (self.folder / f"{number:03d}-{name}.txt").write_text(f"{message.title}\n\n{message.body}\n", "utf-8")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("content-length", 0) or 0), 1 << 20)
                inbox._receive(self.path, self.rfile.read(length))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
