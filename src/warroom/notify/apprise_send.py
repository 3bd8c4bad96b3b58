"""Sending one message through Apprise, and masking the credentials that Apprise URLs carry."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Schemes whose host and path are addresses, not secrets (user:password is still masked).
_PLAIN_SCHEMES = {
    "mailto",
    "mailtos",
    "json",
    "jsons",
    "xml",
    "xmls",
    "form",
    "forms",
    "http",
    "https",
    "ntfy",
    "ntfys",
}
_SECRET_PARAMS = re.compile(r"(token|key|secret|pass|password|auth|apikey|webhook|sig)", re.IGNORECASE)


def _shorten(value: str) -> str:
    if len(value) <= 4:
        return "****"
    return f"{value[0]}...{value[-1]}"


def mask_url(url: str) -> str:
    """The URL with passwords, tokens and secret parameters masked, safe for answers and logs.

    `json://u:pw@host/hook` → `json://u:****@host/hook`; `slack://T1/B2/xyz` → `slack://T...1/B...2/x...z`.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "****"
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    plain = scheme in _PLAIN_SCHEMES
    if at:
        user, colon, _password = userinfo.partition(":")
        if colon:
            userinfo = f"{user}:****"
        elif not plain or scheme in ("ntfy", "ntfys"):
            userinfo = _shorten(user)  # a lone user part is a token (ntfys://tk_xxx@host/topic, pover://...)
        netloc = f"{userinfo}@{hostport}"
    if not plain:
        host = netloc.rpartition("@")[2]
        netloc = netloc[: len(netloc) - len(host)] + _shorten(host) if len(host) > 6 else netloc
        path = "/".join(_shorten(seg) if len(seg) > 6 else seg for seg in parts.path.split("/"))
    else:
        path = parts.path
    query = urlencode(
        [(k, "****" if _SECRET_PARAMS.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
        safe="*@:/",
    )
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def check_url(url: str) -> str | None:
    """None when Apprise understands the URL, else why not (without echoing secrets)."""
    import apprise

    if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
        scheme = url.split("://", 1)[0] if "://" in url else url[:10]
        return f"Apprise does not understand this {scheme}:// URL (see https://appriseit.com/services/)"
    return None


@dataclass(frozen=True)
class SendResult:
    """How one delivery went."""

    ok: bool
    error: str | None
    elapsed_ms: int


def send(url: str, title: str, body: str) -> SendResult:
    """Deliver one message to one Apprise URL; never raises for a delivery problem."""
    import apprise

    started = time.perf_counter()
    # A fresh Apprise object per send: the email plugin throttles (5.5 s) between sends on one instance.
    notifier = apprise.Apprise()
    try:
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    except Exception as exc:  # a malformed URL must fail this message, not the engine
        return SendResult(False, f"invalid URL: {exc.__class__.__name__}", 0)
    if plugin is None:
        return SendResult(False, check_url(url) or "invalid URL", 0)
    plugin.request_rate_per_sec = 0
    notifier.add(plugin)
    try:
        result = notifier.notify(title=title, body=body)
    except Exception as exc:  # plugins raise on odd network states; count it as a failed attempt
        return SendResult(False, f"{exc.__class__.__name__}: {exc}", _ms(started))
    if bool(result):
        return SendResult(True, None, _ms(started))
    status = getattr(getattr(result, "status", None), "name", "FAILURE")
    # Per-attempt logs of this call only (a global LogCapture would mix in other threads' sends).
    messages = [
        entry.message
        for target in getattr(result, "results", ())
        for attempt in getattr(target, "attempts", ())
        for entry in attempt.logs
        if entry.level in ("WARNING", "ERROR", "CRITICAL")
    ]
    detail = " ".join(messages)[-300:] or "the service refused the message"
    return SendResult(False, f"{status}: {mask_text(detail, url)}", _ms(started))


def mask_text(text: str, url: str) -> str:
    """`text` with any secret part of `url` removed (Apprise logs sometimes quote the URL)."""
    parts = urlsplit(url)
    secrets = [p for p in (parts.password, parts.username if parts.scheme not in _PLAIN_SCHEMES else None) if p]
    secrets += [seg for seg in parts.path.split("/") if len(seg) > 6 and parts.scheme not in _PLAIN_SCHEMES]
    for secret in secrets:
        text = text.replace(secret, "****")
    return text


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
