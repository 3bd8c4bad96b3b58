"""The notify tests use the on-call fixtures (receivers, engine)."""

from tests.oncall.conftest import engine, mailbox, webhook

__all__ = ["engine", "mailbox", "webhook"]
