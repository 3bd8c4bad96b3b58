"""`http`: one request; status, latency, body text/regex/JSON paths, and the certificate's days left.

aiohttp rather than httpx: on this machine a new-connection probe loop did ~4,400 checks/s with aiohttp on
uvloop against ~900/s with httpx's AsyncClient, and the scheduler must carry 1,000 checks/s on half a core.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import ssl
import time
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from warroom.monitors.checks import DOWN, Check, CheckContext, Outcome
from warroom.monitors.checks.jsonpath import MISSING, equals, resolve
from warroom.monitors.checks.x509 import Certificate, CertificateError, parse_der

MAX_BODY = 1024 * 1024


@lru_cache(maxsize=4096)
def _certificate(digest: str, der: bytes) -> Certificate | None:
    """Parsed once per distinct certificate (keyed by its hash; the DER rides along)."""
    try:
        return parse_der(der)
    except CertificateError:
        return None


def peer_certificate(ssl_object: Any) -> Certificate | None:
    """The certificate of a TLS connection, parsed (cached), or None."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    return _certificate(hashlib.sha256(der).hexdigest(), der)


# (host, port) -> (monotonic time read, certificate): the expiry changes slowly, so it is read once an hour.
_CERTIFICATES: dict[tuple[str, int], tuple[float, Certificate | None]] = {}
CERTIFICATE_TTL = 3600.0


async def certificate_of(url: str) -> Certificate | None:
    """The certificate the server at `url` presents, read by a TLS handshake of our own at most hourly.

    aiohttp releases a connection as soon as a small response is complete, before the caller can look at
    its TLS session, so the certificate is read apart (one extra handshake per host per hour).
    """
    parts = urlsplit(url)
    key = (parts.hostname or "", parts.port or 443)
    cached = _CERTIFICATES.get(key)
    if cached is not None and time.monotonic() - cached[0] < CERTIFICATE_TTL:
        return cached[1]
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    certificate = None
    try:
        _reader, writer = await asyncio.open_connection(key[0], key[1], ssl=context, server_hostname=key[0])
    except (OSError, ssl.SSLError):
        return None
    try:
        certificate = peer_certificate(writer.get_extra_info("ssl_object"))
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if len(_CERTIFICATES) > 10_000:
        _CERTIFICATES.clear()
    _CERTIFICATES[key] = (time.monotonic(), certificate)
    return certificate


class HttpCheck(Check):
    """GET (or any method) a URL and judge the answer."""

    async def run(self, ctx: CheckContext) -> Outcome:
        """One request with a fresh connection."""
        cfg = self.cfg
        expect = cfg.expect
        started = time.perf_counter()
        async with ctx.http().request(
            cfg.method,
            cfg.url or "",
            headers=cfg.headers or None,
            data=cfg.body.encode() if cfg.body is not None else None,
            allow_redirects=cfg.follow_redirects,
            ssl=cfg.verify_tls,
        ) as response:
            body = await _read_body(response)
            status = response.status
            reason = response.reason or ""
        latency = time.perf_counter() - started
        latency_ms = round(latency * 1000, 3)
        details: dict[str, Any] = {"status_code": status}
        certificate = await certificate_of(cfg.url or "") if cfg.url and cfg.url.lower().startswith("https") else None
        if certificate is not None:
            details["tls_days_left"] = round(certificate.days_left(ctx.now()), 2)
            details["tls_not_after"] = certificate.not_after.isoformat()
        head = f"{status} {reason}".strip()

        def failed(message: str, *, timing: bool = False) -> Outcome:
            return Outcome(DOWN, message, latency_ms, details, timing=timing)

        accepted = expect.status if expect and expect.status else None
        if accepted is not None and status not in accepted:
            return failed(f"status {head}, expected {', '.join(map(str, accepted))}")
        if accepted is None and not 200 <= status < 400:
            return failed(f"status {head}, expected 2xx or 3xx")
        if expect is not None:
            text = body.decode("utf-8", "replace")
            if expect.contains is not None and expect.contains not in text:
                return failed(f"{head}: body does not contain {expect.contains!r}")
            if expect.regex is not None and re.search(expect.regex, text) is None:
                return failed(f"{head}: body does not match /{expect.regex}/")
            if expect.json_:
                problem = _json_problem(text, expect.json_)
                if problem:
                    return failed(f"{head}: {problem}")
            if expect.max_latency is not None and latency > expect.max_latency:
                return failed(
                    f"{head} in {latency_ms:.0f} ms, slower than {expect.max_latency * 1000:.0f} ms", timing=True
                )
        return Outcome("up", f"{head} in {latency_ms:.0f} ms", latency_ms, details)


async def _read_body(response: Any) -> bytes:
    """The body, at most MAX_BODY bytes (a health check never needs more)."""
    if response.content_length is not None and response.content_length <= MAX_BODY:
        data: bytes = await response.read()
        return data
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(65536):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY:
            break
    return b"".join(chunks)[:MAX_BODY]


def _json_problem(text: str, paths: dict[str, Any]) -> str | None:
    """Why the body does not satisfy the JSON expectations, or None."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"body is not JSON ({exc.msg} at char {exc.pos})"
    for path, expected in paths.items():
        actual = resolve(document, path)
        if actual is MISSING:
            return f"{path} is missing, expected {json.dumps(expected)}"
        if not equals(actual, expected):
            return f"{path} is {json.dumps(actual)[:200]}, expected {json.dumps(expected)}"
    return None
