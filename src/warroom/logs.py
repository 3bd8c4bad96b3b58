"""Logging for every process: one redacting processor chain for structlog and the stdlib (uvicorn, alembic,
apprise), plain tracebacks without local variables, and a writer thread so a log line never stalls a request."""

from __future__ import annotations

import atexit
import logging
import queue
import re
import sys
import threading
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from warroom.secretpaths import MASK

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("console", "json")
REDACTED = MASK  # the mask answers use for path secrets: one mark for "a secret was here" everywhere

# Field names whose values are secret wherever they appear in an event (matched on the whole name, any case, so
# `api_key` and `X-Api-Key` are caught but `key_count` is not).
_SECRET_NAME = re.compile(
    r"^(?:.*[_-])?(?:token|tokens|password|passwd|pwd|secret|authorization|cookie|set-cookie|api[_-]?key|"
    r"integration[_-]?key|routing[_-]?key|key|signature|sig|credentials?)$",
    re.IGNORECASE,
)

# Secrets inside free text: exception messages, tracebacks, URLs and paths in messages. Each pattern keeps its
# first group (what says what the secret is) and replaces the rest.
_SECRET_TEXT = re.compile(
    "|".join(
        [
            # `Authorization: Bearer x`, `'cookie': 'a=b'`, (b'authorization', b'Basic x') as headers print.
            r"""(?P<h>["']?\b(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key|x-routing-key)["']?"""
            r"""\s*[:=,]\s*b?["']?)[^"'\r\n]+""",
            # A bearer or basic credential on its own.
            r"(?P<b>\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+",
            # Our API tokens, whatever carries them.
            r"(?P<w>)\bwr_[A-Za-z0-9_-]{8,}",
            # user:password@ in a URL (database URLs, Apprise URLs, webhook URLs).
            r"(?P<u>\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+(?=@)",
            # Credentials in a query string or a DSN.
            r"(?P<q>[?&;]\s*(?:token|key|api_?key|apikey|password|secret|sig|signature|access_token|auth)=)"
            r"[^&\s#'\"]+",
            r"(?P<d>\b(?:password|passwd)\s*=\s*)[^\s'\"]+",
            # Keys and tokens that travel in the path: intake, heartbeat and one-click link URLs (as
            # warroom.secretpaths masks them in answers).
            r"(?P<p>/(?:intake|heartbeats|l)/)[^/\s?#'\"]+",
        ]
    ),
    re.IGNORECASE,
)


def _replace(match: re.Match[str]) -> str:
    return (next((g for g in match.groups() if g is not None), "") or "") + REDACTED


# A longer value is cut in the middle before it is redacted: redaction costs ~0.5 us a character on the event
# loop, and the end of a traceback (the exception and its message) matters as much as its start.
MAX_TEXT = 16_384


def redact_text(text: str) -> str:
    """`text` with every secret the patterns know replaced by *** (cut in the middle past MAX_TEXT)."""
    if len(text) > MAX_TEXT:
        half = MAX_TEXT // 2
        # Cut at whitespace, so a token on the edge is not halved into a piece the patterns no longer know.
        head, tail = text[:half].rsplit(None, 1)[0], text[-half:].split(None, 1)[-1]
        text = f"{head} [... {len(text) - len(head) - len(tail)} characters cut ...] {tail}"
    return _SECRET_TEXT.sub(_replace, text)


def _redact(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if depth > 8:  # a log field nested this deep is a bug; do not walk it (and do not print it)
        return "[too deep]"
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and _SECRET_NAME.match(k) else _redact(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v, depth + 1) for v in value]
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """The processor every format runs last before rendering: secret fields and secret text become ***."""
    out: EventDict = {}
    for key, value in event_dict.items():
        if key.startswith("_"):  # structlog's own (the stdlib record, the formatter's meta)
            out[key] = value
        elif _SECRET_NAME.match(key):
            out[key] = REDACTED
        else:
            out[key] = _redact(value)
    return out


class LineWriter:
    """Rendered lines go on a queue and one daemon thread writes them: a slow or blocked stderr (a full pipe, a
    stalled terminal) costs the caller a queue put, never a wait. When the queue is full, lines are dropped and
    counted rather than blocking the server."""

    def __init__(self, stream: TextIO, capacity: int = 10_000) -> None:
        self.stream = stream
        self.dropped = 0
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=capacity)
        self._thread = threading.Thread(target=self._run, name="warroom-log-writer", daemon=True)
        self._thread.start()

    def write(self, line: str) -> None:
        """Queue one line (without its newline)."""
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            line = self._queue.get()
            try:
                if line is None:
                    return
                self.stream.write(line + "\n")
                if self._queue.empty():
                    self.stream.flush()
            except (OSError, ValueError):  # stderr closed under us: nothing sensible is left to do with the line
                pass
            finally:
                self._queue.task_done()

    def flush(self, timeout: float = 2.0) -> None:
        """Wait (at most `timeout` s) until every queued line is written; for exit and tests."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        done.wait(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued (at most `timeout` s) and stop the thread."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)


class _QueuedLogger:
    """structlog's logger for our writer: the renderer's string goes to the writer thread."""

    def __init__(self, writer: LineWriter) -> None:
        self._writer = writer

    def msg(self, message: str) -> None:
        self._writer.write(message)

    log = debug = info = warn = warning = error = critical = exception = fatal = failure = msg


class _QueuedHandler(logging.Handler):
    """A stdlib handler that formats in the caller and writes through the writer thread."""

    def __init__(self, writer: LineWriter) -> None:
        super().__init__()
        self._writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._writer.write(self.format(record))
        except Exception:
            self.handleError(record)


_writer: LineWriter | None = None


def configure(level: str = "info", fmt: str = "console", stream: TextIO | None = None) -> LineWriter:
    """Route structlog and the stdlib through the same processors to `stream` (stderr); returns the writer."""
    global _writer
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: expected one of {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}: expected one of {', '.join(FORMATS)}")
    target = stream if stream is not None else sys.stderr
    if _writer is not None:
        _writer.close()
    writer = _writer = LineWriter(target)
    numeric = getattr(logging, level.upper())
    # format_exc_info renders tracebacks as the stdlib does: frames and source lines, never local variables (a
    # rich traceback with locals printed bearer tokens and took seconds of event-loop time per error). It runs
    # before `redact` so the traceback text is redacted too.
    shared: list[Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
    ]
    renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        colors = bool(getattr(target, "isatty", lambda: False)())
        renderer = structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=structlog.dev.plain_traceback)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=lambda *_args: _QueuedLogger(writer),
        # Not cached: a module-level logger must follow a later configure() (tests, `serve` after a CLI default).
        cache_logger_on_first_use=False,
    )
    handler = _QueuedHandler(writer)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    # uvicorn's loggers print through the root handler (uvicorn is told not to configure logging).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        # and follow the root's level: an in-process uvicorn started earlier (log_level="warning") set its own.
        logger.setLevel(logging.NOTSET)
    # Alembic narrates every plugin it loads at INFO; the operator only needs the revisions applied.
    logging.getLogger("alembic").setLevel(max(numeric, logging.WARNING))
    return writer


@atexit.register
def _flush_at_exit() -> None:
    if _writer is not None:
        _writer.close()
