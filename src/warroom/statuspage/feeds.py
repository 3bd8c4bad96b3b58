"""Atom and RSS feeds of the status history, and the shields.io endpoint badge of a component.

Built with ElementTree, which escapes every text and attribute: an incident's public title or update text
can hold any character and still gives a well-formed feed.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from xml.etree import ElementTree as ET

from warroom.statuspage.snapshot import ComponentStatus, PageSnapshot, PublicComponent, PublicIncident
from warroom.statuspage.v2 import incident_url

ATOM_NS = "http://www.w3.org/2005/Atom"
# Characters XML 1.0 cannot carry at all, escaped or not (C0 controls but tab, CR, LF; lone surrogates; FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    """`text` without the characters XML cannot hold (a pasted control character must not break the feed)."""
    return _NOT_XML.sub("", text)


STATUS_WORDS: dict[str, str] = {
    "operational": "operational",
    "degraded_performance": "degraded performance",
    "partial_outage": "partial outage",
    "major_outage": "major outage",
    "under_maintenance": "under maintenance",
}
# shields.io named colours, one per component status.
BADGE_COLORS: dict[ComponentStatus, str] = {
    "operational": "brightgreen",
    "degraded_performance": "yellow",
    "partial_outage": "orange",
    "major_outage": "red",
    "under_maintenance": "blue",
}


def _entry_text(item: PublicIncident) -> str:
    lines = [f"{u.status.replace('_', ' ').capitalize()} — {u.body}" for u in item.updates]
    return "\n\n".join(lines) or item.name


def _base(snapshot: PageSnapshot) -> str:
    return snapshot.url.rstrip("/")


def _updated(items: list[PublicIncident], snapshot: PageSnapshot) -> datetime:
    return max([i.updated_at for i in items], default=snapshot.updated_at)


def atom(snapshot: PageSnapshot, items: list[PublicIncident]) -> bytes:
    """Atom 1.0 (RFC 4287) of `items`, newest first: one entry per incident or maintenance."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = _clean(text)
        return element

    base = _base(snapshot)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", f"{base}/status/history.atom")
    sub(feed, "title", f"{snapshot.name} status history")
    sub(feed, "updated", _updated(items, snapshot).isoformat())
    sub(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/status/history.atom")
    sub(feed, "link", rel="alternate", type="text/html", href=f"{base}/status")
    author = sub(feed, "author")
    sub(author, "name", snapshot.name)
    for item in items:
        entry = sub(feed, "entry")
        sub(entry, "id", incident_url(snapshot, item.id))
        sub(entry, "title", item.name)
        sub(entry, "updated", item.updated_at.isoformat())
        sub(entry, "published", item.created_at.isoformat())
        sub(entry, "link", rel="alternate", type="text/html", href=incident_url(snapshot, item.id))
        sub(entry, "category", term=item.status)
        sub(entry, "content", _entry_text(item), type="text")
    out: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return out


def rss(snapshot: PageSnapshot, items: list[PublicIncident]) -> bytes:
    """RSS 2.0 of `items`, newest first: one item per incident or maintenance."""
    base = _base(snapshot)
    root = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(root, "channel")
    for tag, text in (
        ("title", f"{snapshot.name} status history"),
        ("link", f"{base}/status"),
        ("description", f"Incidents and maintenance of {snapshot.name}"),
        ("lastBuildDate", format_datetime(_updated(items, snapshot))),
    ):
        ET.SubElement(channel, tag).text = _clean(text)
    for item in items:
        node = ET.SubElement(channel, "item")
        ET.SubElement(node, "title").text = _clean(item.name)
        ET.SubElement(node, "link").text = incident_url(snapshot, item.id)
        ET.SubElement(node, "guid", {"isPermaLink": "true"}).text = incident_url(snapshot, item.id)
        ET.SubElement(node, "pubDate").text = format_datetime(item.created_at)
        ET.SubElement(node, "category").text = item.status
        ET.SubElement(node, "description").text = _clean(_entry_text(item))
    out: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return out


def badge(item: PublicComponent) -> dict[str, Any]:
    """The shields.io endpoint badge (https://shields.io/badges/endpoint-badge) of one component."""
    return {
        "schemaVersion": 1,
        "label": item.name,
        "message": STATUS_WORDS[item.status],
        "color": BADGE_COLORS[item.status],
    }
