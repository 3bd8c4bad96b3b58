"""`postgres` (connect, SELECT 1, optional query), `redis` (PING, optional INFO field), `sqlite` (open, SELECT 1).

Redis is spoken directly (RESP over asyncio streams): a check needs AUTH, SELECT, PING and INFO, about forty
lines, where the `redis` package would add a dependency and its own connection pool for nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from warroom.monitors.checks import Access, Check, CheckContext, Outcome, compare, down, up


def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} returned {value!r}, not a number") from None


def read_only_options(conninfo: str, timeout: float) -> str:
    """The connection's `options` with read-only transactions and a statement timeout appended (later `-c`
    settings win, so the URL's own options cannot turn them back off)."""
    from psycopg.conninfo import conninfo_to_dict

    given = str(conninfo_to_dict(conninfo).get("options") or "")
    ours = f"-c default_transaction_read_only=on -c statement_timeout={max(int(timeout * 1000), 1)}"
    return f"{given} {ours}".strip()


def read_only_query(query: str | None) -> str:
    """The query to run, refused (ValueError) unless it is one that only reads (see `query_problem`)."""
    from warroom.monitors.schemas import query_problem

    problem = query_problem(query) if query else None
    if problem is not None:
        raise ValueError(problem)
    return query or "SELECT 1"


class PostgresCheck(Check):
    """Connect with psycopg's async connection and run SELECT 1 (or the query, compared with fail_if).

    The query is an admin's text run with the monitor's credentials, so it cannot change anything: it runs as
    one statement (the extended protocol refuses `SELECT 1; DROP ...`) in a read-only transaction that is
    rolled back, and the server stops it at the check's timeout (a cancelled client alone would leave it
    running there).
    """

    async def run(self, ctx: CheckContext) -> Outcome:
        """One connection per check, closed after."""
        import psycopg

        cfg = self.cfg
        url = (cfg.url or "").replace("postgres://", "postgresql://", 1)
        timeout = max(int(cfg.effective_timeout), 1)
        conn = await psycopg.AsyncConnection.connect(
            url, connect_timeout=timeout, autocommit=False, options=read_only_options(url, cfg.effective_timeout)
        )
        try:
            async with conn.cursor() as cursor:
                # prepare=True: a prepared statement holds exactly one command (the simple protocol would run
                # `SELECT 1; COMMIT; CREATE ...`), and with no parameters a literal % needs no escaping.
                await cursor.execute(read_only_query(cfg.query), prepare=True)
                row = await cursor.fetchone()
            await conn.rollback()
        finally:
            await conn.close()
        if not cfg.query:
            return up("SELECT 1 ok")
        if cfg.fail_if is None:
            return up(f"query returned {row[0] if row else None!r}")
        if row is None:
            return down("query returned no row")
        return compare(cfg, _number(row[0], "query"), "query")


class RespError(Exception):
    """Redis answered with an error."""


async def _resp(reader: asyncio.StreamReader) -> Any:
    """Read one RESP2 reply."""
    line = await reader.readuntil(b"\r\n")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RespError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        data = await reader.readexactly(size + 2)
        return data[:-2].decode("utf-8", "replace")
    if kind == b"*":
        return [await _resp(reader) for _ in range(max(int(rest), 0))]
    raise RespError(f"unexpected reply {line[:40]!r}")


def _command(*parts: str) -> bytes:
    encoded = [p.encode() for p in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in encoded)


def parse_info(text: str) -> dict[str, str]:
    """INFO's `field:value` lines as a dict."""
    fields = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value
    return fields


class RedisCheck(Check):
    """PING; with `info_field`, compare that INFO field with `fail_if` (e.g. connected_clients > 1000)."""

    async def run(self, ctx: CheckContext) -> Outcome:
        """One connection per check."""
        cfg = self.cfg
        parts = urlsplit(cfg.url or "")
        context = ssl.create_default_context() if parts.scheme == "rediss" else None
        reader, writer = await asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 6379, ssl=context)
        try:
            if parts.password:
                user = unquote(parts.username) if parts.username else None
                writer.write(_command("AUTH", *([user] if user else []), unquote(parts.password)))
            database = parts.path.strip("/")
            if database and database != "0":
                writer.write(_command("SELECT", database))
            writer.write(_command("PING"))
            if cfg.info_field:
                writer.write(_command("INFO"))
            await writer.drain()
            if parts.password:
                await _resp(reader)
            if database and database != "0":
                await _resp(reader)
            pong = await _resp(reader)
            if pong != "PONG":
                return down(f"PING answered {pong!r}")
            if not cfg.info_field:
                return up("PONG")
            info = parse_info(await _resp(reader))
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if cfg.info_field not in info:
            return down(f"INFO has no field {cfg.info_field!r}")
        return compare(cfg, _number(info[cfg.info_field], cfg.info_field), cfg.info_field)


class SqliteCheck(Check):
    """Open the file read-only and run SELECT 1 (or the query). Runs in the loop's thread pool: sqlite3 blocks.

    The file must lie under `monitoring.sqlite_folders`: otherwise an admin's query could read any database the
    server can open, warroom's own included (its link-signing key).
    """

    def _run(self, access: Access) -> Any:
        path = Path(self.cfg.path or "")
        refused = access.path_problem("sqlite", str(path))
        if refused is not None:
            raise PermissionError(refused)
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=self.cfg.effective_timeout)
        try:
            row = conn.execute(self.cfg.query or "SELECT 1").fetchone()
        finally:
            conn.close()
        return row[0] if row else None

    async def run(self, ctx: CheckContext) -> Outcome:
        """Up when the database opens and answers."""
        value = await asyncio.get_running_loop().run_in_executor(None, self._run, ctx.access)
        if not self.cfg.query:
            return up("SELECT 1 ok")
        if self.cfg.fail_if is None:
            return up(f"query returned {value!r}")
        return compare(self.cfg, _number(value, "query"), "query")
