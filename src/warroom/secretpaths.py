"""Paths that carry a secret, and their redacted form for answers and log lines.

An intake key (`/api/v1/intake/{key}`), a one-click link (`/l/{token}`), a heartbeat token
(`/api/v1/heartbeats/{token}`) and a calendar feed token (`?token=`) are credentials sent in the URL, because
their senders cannot send headers. Whatever echoes a path back (a problem's `instance`, a redirect, the access
log) uses `redact` so that a response or a log line never holds one; a wrong token is redacted too, since a
mistyped secret is most of the real one.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "***"
# The segment after one of these is the secret; anywhere in the path, so `//l/x` or `/api/v1/intake/k/extra`
# (a 404) are covered as well. Redacting a harmless segment now and then costs nothing.
_SECRET_SEGMENT = re.compile(r"(/(?:intake|heartbeats|l|confirm|unsubscribe)/)[^/?#]+")
_SECRET_QUERY = re.compile(r"((?:^|[?&;])(?:token|key|access_token)=)[^&;#]*", re.IGNORECASE)
# Single sign-on's return (`/login/oidc/callback?code=...&state=...`): every value of its query is masked.
_SSO_CALLBACK = "/login/oidc/callback"
_ANY_QUERY_VALUE = re.compile(r"((?:^|[&;])[^=&;#]*=)[^&;#]*")


def redact(path: str) -> str:
    """`path` (with or without a query string, or a full URL) with every path secret replaced by ***."""
    path_part, mark, query = path.partition("?")
    redacted = _SECRET_SEGMENT.sub(lambda m: m.group(1) + MASK, path_part)
    if mark and path_part.endswith(_SSO_CALLBACK):
        redacted += mark + _ANY_QUERY_VALUE.sub(lambda m: m.group(1) + MASK, query)
    elif mark:
        redacted += mark + _SECRET_QUERY.sub(lambda m: m.group(1) + MASK, query)
    return redacted


class AccessLogRedactor(logging.Filter):
    """Rewrites the path in uvicorn's access log records: `client - "METHOD path HTTP/x" status`."""

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        # uvicorn's access record: (client_addr, method, full_path, http_version, status_code).
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact(args[2]), args[3], args[4])
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_access_log_redaction() -> None:
    """Redact path secrets in uvicorn's access log, however it is started (once per process)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogRedactor) for f in logger.filters):
        logger.addFilter(AccessLogRedactor())
