"""The demo's web service: a tiny HTTP server on 127.0.0.1 whose /health fails while a fault file exists."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FAULT_FILE = "fault"


class BreakableService:
    """`/health` answers 200 `{"status": "ok"}`, or 503 with the fault while `folder/fault` exists.

    The fault is a file, not a flag in memory, so that the runbook step that repairs the service is a real
    command run by warroom's runbook runner in another process (`rm -f fault` in this folder)."""

    def __init__(self, folder: Path, port: int = 0) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-service", daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The health URL the demo's monitor checks."""
        return f"http://127.0.0.1:{self.port}/health"

    @property
    def fault(self) -> Path:
        """The file whose presence breaks the service."""
        return self.folder / FAULT_FILE

    def start(self) -> BreakableService:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def break_(self, reason: str) -> None:
        """Make /health fail with `reason` until the fault file is removed."""
        self.fault.write_text(reason + "\n", encoding="utf-8")

    def healthy(self) -> bool:
        """Whether /health answers 200 now."""
        return not self.fault.exists()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/health":
                    self._answer(404, {"status": "not found"})
                    return
                try:
                    reason = service.fault.read_text(encoding="utf-8").strip()
                except FileNotFoundError:
                    self._answer(200, {"status": "ok"})
                    return
                self._answer(503, {"status": "down", "fault": reason})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass  # one request a second from the monitor would drown the narration

        return Handler
