"""A long incident page: the newest 200 timeline events, every one on request, durations from the whole timeline."""

from __future__ import annotations

import re

import pytest

from warroom.auth.actor import Actor, Role
from warroom.incidents import service as incidents
from warroom.incidents import timeline

pytestmark = pytest.mark.backend("sqlite", "postgresql")

ALICE = Actor(name="alice", role=Role.RESPONDER)


def test_a_long_timeline_shows_its_newest_events_and_all_on_request(console_for, runtime, make_incident):
    incident = make_incident(severity="P2", title="Long one")
    with runtime.db.transaction() as session:
        found = incidents.get_for_update(session, incident.id)
        incidents.acknowledge(session, found, ALICE, runtime.clock.now())
        for n in range(230):
            incidents.add_note(session, found, ALICE, runtime.clock.now(), f"note number {n}")
    with runtime.db.session() as session:
        total = len(timeline.events(session, incident.id))
    viewer = console_for("viewer")
    page = viewer.get(f"/incidents/{incident.id}").text
    assert "note number 229<" in page and "note number 30<" in page and "note number 29<" not in page
    assert len(re.findall(r'id="event-\d+"', page)) == 200
    assert f'href="/incidents/{incident.id}?events=all#timeline-h">Show all {total}</a>' in page
    assert re.search(r"<th scope=\"row\">[^<]*[Aa]cknowledge[^<]*</th>\s*<td>0s</td>", page), "durations still read"
    everything = viewer.get(f"/incidents/{incident.id}?events=all").text
    assert len(re.findall(r'id="event-\d+"', everything)) == total and "Show all" not in everything
