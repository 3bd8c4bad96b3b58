"""`/metrics` and `/ready` of an engine running alone (`warroom engine --metrics-port`), without the API."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from warroom.health import health_of


class EngineHttp:
    """A small threaded HTTP server: the engine's own figures (monitor writes, notifications, job lateness)
    live in its process, so a Prometheus that scrapes only the API processes never sees them."""

    def __init__(self, runtime: Any, host: str, port: int) -> None:
        handler = _handler(runtime)
        # Bound here, before the engine starts: a busy port is reported at once, not after the engine ran.
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, name="warroom-engine-http", daemon=True)

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()


def _handler(runtime: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(runtime.registry))
            elif self.path == "/ready":
                failing = [] if runtime.db.ping() else ["database: unreachable"]
                failing += health_of(runtime).problems()
                if failing:
                    body = {"title": "Not ready", "status": 503, "detail": "; ".join(failing) + "."}
                    self._send(503, "application/problem+json", json.dumps(body).encode())
                else:
                    self._send(200, "application/json", b'{"status": "ready"}')
            else:
                body = {"title": "Not found", "status": 404, "detail": "This engine serves /metrics and /ready."}
                self._send(404, "application/problem+json", json.dumps(body).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Scrapes every few seconds are not worth a log line each."""

    return Handler
