"""warroom: self-hosted incident response."""

import sys

import structlog

__version__ = "0.1.0"

# Logs go to stderr from the first import on (structlog's default is stdout): a CLI command's stdout is
# its answer (`--json`), and a background thread's log line must never land in it.
structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
