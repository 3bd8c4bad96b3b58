"""`tcp` (a port accepts connections) and `tls` (certificate days left, hostname match)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from warroom.monitors.checks import DOWN, UP, WARN, Check, CheckContext, Outcome, down, up
from warroom.monitors.checks.http import peer_certificate


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()


class TcpCheck(Check):
    """Connect to host:port and close."""

    async def run(self, ctx: CheckContext) -> Outcome:
        """Up when the connection is accepted."""
        _reader, writer = await asyncio.open_connection(self.cfg.host, self.cfg.port)
        await _close(writer)
        return up(f"{self.cfg.host}:{self.cfg.port} accepts connections")


class TlsCheck(Check):
    """TLS handshake; fails on a certificate close to expiry or not valid for the host name."""

    def _context(self) -> ssl.SSLContext:
        if self.cfg.verify_tls:
            context = ssl.create_default_context(cafile=self.cfg.ca_file)
        else:
            # Read the certificate whatever signed it: expiry and names are checked below, not by OpenSSL.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def run(self, ctx: CheckContext) -> Outcome:
        """Handshake, then judge the certificate's days left and names."""
        cfg = self.cfg
        port = cfg.port or 443
        name = cfg.server_name or cfg.host or ""
        try:
            _reader, writer = await asyncio.open_connection(cfg.host, port, ssl=self._context(), server_hostname=name)
        except ssl.SSLCertVerificationError as exc:
            return down(f"certificate not valid for {name}: {exc.verify_message or exc.reason}")
        try:
            certificate = peer_certificate(writer.get_extra_info("ssl_object"))
        finally:
            await _close(writer)
        if certificate is None:
            return down(f"{cfg.host}:{port} sent no certificate that could be read")
        days = certificate.days_left(ctx.now())
        details = {
            "days_left": round(days, 2),
            "not_after": certificate.not_after.isoformat(),
            "names": certificate.names(),
        }
        if not certificate.matches(name):
            return Outcome(
                DOWN, f"certificate is for {', '.join(certificate.names()) or '?'}, not {name}", details=details
            )
        if days <= 0:
            return Outcome(DOWN, f"certificate expired {-days:.1f} days ago", details=details)
        if days <= cfg.fail_days:
            return Outcome(DOWN, f"certificate expires in {days:.1f} days (fail at {cfg.fail_days:g})", details=details)
        if days <= cfg.warn_days:
            return Outcome(WARN, f"certificate expires in {days:.1f} days (warn at {cfg.warn_days:g})", details=details)
        return Outcome(UP, f"certificate valid for {days:.0f} more days", details=details)
