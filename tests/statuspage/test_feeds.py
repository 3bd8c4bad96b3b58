"""The history feeds read back with feedparser (the parser behind many feed readers), and as strict XML."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import feedparser
import pytest

from tests.statuspage.facedata import incident, past_incidents, update

# The public face renders what its source gives; it reads no table of its own, so one backend is enough.
pytestmark = pytest.mark.backend("sqlite")


@pytest.mark.backend("sqlite")
def test_atom_feed_parses_with_every_incident_newest_first(public):
    response = public.get("/status/history.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    ET.fromstring(response.content)  # well-formed XML, or this raises
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Example Shop status history"
    assert any(link.rel == "self" for link in feed.feed.links)
    titles = [e.title for e in feed.entries]
    assert len(titles) == 3 + 45  # the active incident, both maintenances, and the 45 past incidents
    assert titles[:3] == ["Checkout is slow", "Search cluster upgrade", "Past incident number 0"]
    first = next(e for e in feed.entries if e.title == "Checkout is slow")
    assert first.link == "https://status.example.com/status/incidents/inc-checkout-slow"
    assert first.id == first.link
    assert "We found the cause" in first.content[0].value
    assert first.updated_parsed is not None and first.published_parsed is not None
    updated = [e.updated_parsed for e in feed.entries]
    assert updated == sorted(updated, reverse=True)


@pytest.mark.backend("sqlite")
def test_rss_feed_parses_with_the_same_items(public):
    response = public.get("/status/history.rss")
    assert response.headers["content-type"].startswith("application/rss+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    assert feed.feed.link == "https://status.example.com/status"
    atom = feedparser.parse(public.get("/status/history.atom").content)
    assert [e.title for e in feed.entries] == [e.title for e in atom.entries]
    item = feed.entries[0]
    assert item.guid.startswith("https://status.example.com/status/incidents/") and item.published_parsed


@pytest.mark.backend("sqlite")
def test_feeds_stay_well_formed_whatever_people_typed(public, source, change):
    nasty = 'Outage <b>&amp;</b> "quotes" \x01\x0b control ]]> and emoji 🔥'
    source.replace(source.snapshot, past_incidents(3))
    assert len(feedparser.parse(public.get("/status/history.atom").content).entries) == 3 + 3
    change(incidents=(incident("inc-nasty", nasty, (update("un", "investigating", nasty, 1),)),))
    for path in ("/status/history.atom", "/status/history.rss"):
        body = public.get(path).content
        ET.fromstring(body)
        feed = feedparser.parse(body)
        assert not feed.bozo, (path, feed.get("bozo_exception"))
        assert feed.entries[0].title == 'Outage <b>&amp;</b> "quotes"  control ]]> and emoji 🔥'


@pytest.mark.backend("sqlite")
def test_feeds_hold_at_most_fifty_entries(public, source, change):
    source.replace(source.snapshot, past_incidents(120))
    change()
    assert len(feedparser.parse(public.get("/status/history.rss").content).entries) == 50
