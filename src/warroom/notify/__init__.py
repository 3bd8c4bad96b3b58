"""Notifications: contact methods, the outbox, delivery through Apprise with retries, digests, signed links."""
