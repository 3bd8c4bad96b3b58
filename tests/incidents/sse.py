"""A Server-Sent Events client for tests: reads a stream in a thread and keeps each event with its arrival time."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Received:
    """One SSE event as a browser's EventSource would see it, with the monotonic time it arrived."""

    event: str
    id: str | None
    data: str
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        """The data as JSON."""
        return json.loads(self.data)


class SseReader:
    """Connects on enter (fails unless the answer is 200 text/event-stream), reads until exit."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self.events: list[Received] = []
        self.comments: list[str] = []
        self.ended = threading.Event()
        self._connected = threading.Event()
        self._response: httpx.Response | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SseReader:
        self._thread.start()
        # How long a loaded CI host may take to answer the headers: a bound, not a figure under test.
        assert self._connected.wait(60), f"no answer from {self.url}"
        assert self._response is not None, f"{self.url}: {self._error!r}"
        assert self._response.status_code == 200, f"{self.url}: {self._response.status_code}"
        assert self._response.headers["content-type"].startswith("text/event-stream")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Hang up, as a browser closing its tab: the server sees the connection end."""
        if self._response is not None and not self.ended.is_set():
            # Closing the response from this thread does not wake the reading thread; shutting the socket does.
            stream = self._response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), "the SSE reader did not stop"

    def _run(self) -> None:
        try:
            with httpx.stream("GET", self.url, headers=self.headers, timeout=httpx.Timeout(10, read=None)) as response:
                self._response = response
                self._connected.set()
                if response.status_code != 200:
                    return
                kind, ident, data = "message", None, []
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.comments.append(line)
                    elif line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("id:"):
                        ident = line[3:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].removeprefix(" "))
                    elif line == "" and data:
                        self.events.append(Received(kind, ident, "\n".join(data)))
                        kind, ident, data = "message", None, []
        except (httpx.HTTPError, OSError, RuntimeError) as exc:
            self._error = exc
        finally:
            self._connected.set()
            self.ended.set()

    def timeline(self) -> list[Received]:
        """The timeline events received so far."""
        return [e for e in list(self.events) if e.event == "timeline"]

    def messages(self) -> list[str]:
        """The messages of the timeline events received so far."""
        return [e.json()["message"] for e in self.timeline()]

    def wait_for(self, check: Callable[[SseReader], bool], timeout: float = 60.0) -> None:
        """Poll until `check(self)` holds; fail with what arrived when `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while not check(self):
            assert time.monotonic() < deadline, f"timed out; received {[(e.event, e.data) for e in self.events]}"
            time.sleep(0.01)


class HeldFeed:
    """A live feed (`incidents.live.Feed`) whose reader stops before it hands out its next batch until
    `release()`: what a reader lagging on a loaded host does, made to order. Batches after the held one go
    straight out, or are held one at a time with `release(hold_next=True)`."""

    def __init__(self, feed: Any, wait: float = 60) -> None:
        self.feed = feed
        self.holding = threading.Event()  # set once the reader is held with a batch
        self._resume = threading.Event()
        self._publish = feed._publish
        self._wait = wait
        feed._publish = self._held

    def _held(self, events: Any, committed_by: float) -> None:
        self.holding.set()
        self._resume.wait(self._wait)
        self._publish(events, committed_by)

    def release(self, hold_next: bool = False) -> None:
        """Let the held batch go, and every later one straight out; with `hold_next`, hold the next one instead."""
        if hold_next:
            self.holding.clear()
            # The reader waits on the Event it found; the next batch finds a fresh one.
            resume, self._resume = self._resume, threading.Event()
            resume.set()
            return
        self.feed._publish = self._publish
        self._resume.set()
