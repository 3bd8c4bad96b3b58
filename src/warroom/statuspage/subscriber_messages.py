"""What subscribers receive: the email text and the Statuspage-shaped webhook body, from public fields only.

Everything here is built from `snapshot.PublicIncident` and `PublicUpdate`: the public title, the text a
person wrote for the public, public component ids, times and statuses. Nothing else is in reach.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime
from typing import Any

from warroom.statuspage.snapshot import PublicIncident, PublicUpdate

DOCUMENTATION = "https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/"
_STATUS_WORDS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "postmortem": "Postmortem",
    "scheduled": "Scheduled",
    "in_progress": "In progress",
    "verifying": "Verifying",
    "completed": "Completed",
}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _one_line(text: str, limit: int = 200) -> str:
    # A subject is a header: no line breaks may pass (header injection), and it stays short.
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def subject_of(incident: PublicIncident, update: PublicUpdate, page_name: str) -> str:
    """`[Acme status] Identified: Checkout is slow`."""
    word = _STATUS_WORDS.get(update.status, update.status)
    return _one_line(f"[{page_name}] {word}: {incident.name}")


def text_of(incident: PublicIncident, update: PublicUpdate, page_url: str) -> str:
    """The plain-text body of an update (the unsubscribe footer is added per recipient)."""
    word = _STATUS_WORDS.get(update.status, update.status)
    lines = [incident.name, "", f"{word} - {update.body}", "", f"Posted {update.display_at:%Y-%m-%d %H:%M} UTC."]
    if update.affected_component_ids or incident.component_ids:
        lines.append("Components: " + ", ".join(update.affected_component_ids or incident.component_ids))
    lines += ["", f"Status page: {page_url}/incidents/{incident.id}"]
    return "\n".join(lines)


def _update_json(update: PublicUpdate, incident_id: str) -> dict[str, Any]:
    """One entry of Statuspage's `incident_updates`."""
    return {
        "id": update.id,
        "incident_id": incident_id,
        "status": update.status,
        "body": update.body,
        "created_at": _iso(update.created_at),
        "updated_at": _iso(update.created_at),
        "display_at": _iso(update.display_at),
        "affected_components": [{"code": c} for c in update.affected_component_ids] or None,
        "deliver_notifications": True,
        "wants_twitter_update": False,
        "twitter_updated_at": None,
        "custom_tweet": None,
    }


def webhook_body(incident: PublicIncident, update: PublicUpdate, page: dict[str, str]) -> dict[str, Any]:
    """The Statuspage webhook notification for an incident update (`meta` is added per recipient).

    Statuspage sends `{"meta": {...}, "page": {...}, "incident": {..., "incident_updates": [...]}}` with the
    updates newest first; the fields are theirs, filled from public fields only."""
    updates = [_update_json(u, incident.id) for u in incident.updates]
    if not any(u["id"] == update.id for u in updates):
        updates.insert(0, _update_json(update, incident.id))
    return {
        "page": page,
        "incident": {
            "id": incident.id,
            "name": incident.name,
            "status": incident.status,
            "impact": incident.impact,
            "impact_override": None,
            "backfilled": False,
            "created_at": _iso(incident.created_at),
            "updated_at": _iso(incident.updated_at),
            "started_at": _iso(incident.started_at),
            "monitoring_at": _iso(incident.monitoring_at),
            "resolved_at": _iso(incident.resolved_at),
            "scheduled_for": _iso(incident.scheduled_for),
            "scheduled_until": _iso(incident.scheduled_until),
            "shortlink": page.get("url", "") + f"/incidents/{incident.id}",
            "postmortem_body": None,
            "component_ids": list(incident.component_ids),
            "incident_updates": updates,
        },
    }


def with_meta(body: dict[str, Any], unsubscribe_url: str, generated_at: datetime) -> dict[str, Any]:
    """The webhook body for one recipient: Statuspage's `meta` with its unsubscribe link."""
    return {
        "meta": {"unsubscribe": unsubscribe_url, "documentation": DOCUMENTATION, "generated_at": _iso(generated_at)},
        **body,
    }


def _domain(sender: str) -> str:
    domain = sender.rpartition("@")[2].strip(" >")
    return domain if re.fullmatch(r"[A-Za-z0-9.-]{1,200}", domain) else "warroom.invalid"


def message_id(notice_id: str, subscriber_id: int, sender: str) -> str:
    """The stable Message-ID of one notice to one subscriber: the same on every retry, so a resend after a
    crash (at-least-once) is dropped by a receiver that dedupes on it."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", notice_id)[:100]
    return f"<status.{safe}.{subscriber_id}@{_domain(sender)}>"


# Headers on one line (up to SMTP's 998): a folded List-Unsubscribe reads back with a leading space in some
# parsers, and the URL is one token anyway.
_UNFOLDED = compat32.clone(max_line_length=998)


def email(
    *, sender: str, to: str, subject: str, text: str, unsubscribe_url: str, msg_id: str, now: datetime
) -> Message:
    """One message with the RFC 8058 one-click unsubscribe headers and the link in its body.

    Built with the compat32 classes (`MIMEText`): the modern `EmailMessage` spent ~3 ms per message parsing
    and refolding its own headers, most of the sender's time at 10,000 messages. Every value is one line
    already (addresses validated, the subject flattened), so nothing here can inject a header."""
    body = f"{text}\n\n--\nUnsubscribe (one click): {unsubscribe_url}\n"
    message = MIMEText(body, "plain", "utf-8", policy=_UNFOLDED)
    message["From"] = sender
    message["To"] = to
    line = _one_line(subject)
    message["Subject"] = line if line.isascii() else Header(line, "utf-8").encode()
    message["Date"] = format_datetime(now)
    message["Message-ID"] = msg_id
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    return message


def confirmation_text(page_name: str, confirm_url: str, components: list[str], valid_hours: int = 48) -> str:
    """The body of the double opt-in email."""
    which = f" (components: {', '.join(components)})" if components else ""
    return (
        f"Someone, hopefully you, asked to receive status updates from {page_name}{which}.\n\n"
        f"Confirm the subscription: {confirm_url}\n"
        f"This link works for {valid_hours} hours; after that, ask again on the status page for a fresh one.\n\n"
        "If you did not ask for this, ignore this message: nothing will be sent without the confirmation."
    )
