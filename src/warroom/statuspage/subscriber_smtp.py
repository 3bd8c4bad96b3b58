"""Sending subscriber email over one SMTP connection per batch (smtplib: Apprise's mailto:// opens a
connection per message and cannot set List-Unsubscribe, List-Unsubscribe-Post or a stable Message-ID)."""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import Message
from types import TracebackType

from warroom.statuspage.subscriber_config import SmtpConfig


class SmtpSender:
    """A connection to the configured SMTP server, opened on first use and reopened after an error."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None
        # Set when the server could not be reached: the rest of the batch fails at once instead of each
        # message waiting for its own connection timeout.
        self.unreachable: OSError | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        smtp: smtplib.SMTP
        if cfg.security == "tls":
            smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            if cfg.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if cfg.username:
            # The password is read when needed and never stored, logged or put in an error.
            smtp.login(cfg.username, os.environ.get(cfg.password_env or "", ""))
        return smtp

    def send(self, message: Message) -> None:
        """Send one message; raises on any failure (the connection is dropped, to be reopened next time)."""
        if self.unreachable is not None:
            raise self.unreachable
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except OSError as exc:
                self.unreachable = exc
                raise
        try:
            self._smtp.send_message(message)
        except (smtplib.SMTPException, OSError):
            self.close()
            raise

    def close(self) -> None:
        """Close the connection if one is open."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


def describe(exc: BaseException) -> str:
    """An SMTP failure in one line, without credentials (the server's reply code and text, or the OS error)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"SMTP {exc.smtp_code}: {text[:200]}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "SMTP: recipient refused"
    return f"{exc.__class__.__name__}: {str(exc)[:200]}"
