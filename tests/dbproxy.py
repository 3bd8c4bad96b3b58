"""A TCP forwarder on 127.0.0.1 that can stop passing bytes: a database that stops answering (as under SIGSTOP),
without touching the PostgreSQL server other test runs share."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy.engine import make_url


class PausableProxy:
    """Forwards 127.0.0.1:<port> to `target`. While paused it accepts connections and reads nothing: clients see
    an open socket that never answers, which is what a frozen server looks like."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._running = threading.Event()  # set: bytes flow
        self._running.set()
        self._closed = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database_url: str) -> str:
        """`database_url` pointed at this proxy."""
        return make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def pause(self) -> None:
        """Stop forwarding (connections stay open)."""
        self._running.clear()

    def resume(self) -> None:
        """Forward again; what waited is delivered."""
        self._running.set()

    @contextmanager
    def paused(self, at_most: float) -> Iterator[None]:
        """Paused for the block, and never longer than `at_most` seconds: code that would wait forever for the
        database (the bug under test) gets its answer then, so a failing test fails instead of hanging."""
        self.pause()
        timer = threading.Timer(at_most, self.resume)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            self.resume()

    def close(self) -> None:
        """Stop accepting and drop every connection."""
        self._closed = True
        self._running.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with suppress(OSError):
                    sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while not self._closed:
                if not self._running.is_set():
                    time.sleep(0.01)
                    continue
                ready, _, _ = select.select([source], [], [], 0.05)
                if not ready or not self._running.is_set():
                    continue
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
