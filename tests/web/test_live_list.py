"""The incident list and the incident page's facts update live: what an open page receives when incidents change."""

from __future__ import annotations

import re
import threading
from itertools import takewhile

import httpx
import pytest

from tests.alerts.conftest import am_alert, am_payload
from tests.incidents.sse import HeldFeed, SseReader
from warroom.alerts import integrations
from warroom.auth.actor import Actor, Role
from warroom.incidents import live, timeline
from warroom.incidents import service as incidents
from warroom.web import live_parts

pytestmark = pytest.mark.backend("sqlite", "postgresql")

ALICE = Actor(name="alice", role=Role.RESPONDER)


def _cookie(console_for, role: str = "viewer") -> dict[str, str]:
    client = console_for(role)
    return {"Cookie": f"warroom_session={client.cookies.get('warroom_session')}"}


def _intake(runtime) -> str:
    with runtime.db.transaction() as session:
        _, key = integrations.create_integration(
            session, name="am", type="alertmanager", created_by="tests", now=runtime.clock.now()
        )
    return key


def _latest(runtime) -> str:
    """`after=` the newest event so far, as the list page puts it in its stream's address (none: nothing)."""
    with runtime.db.session() as session:
        latest = timeline.latest_id(session)
    return f"after={latest}" if latest else ""


def _titles(html: str) -> list[str]:
    return re.findall(r'<td><a href="[^"]*/incidents/\d+">([^<]*)</a></td>', html)


def test_an_alert_raises_an_incident_that_appears_on_an_open_list_keeping_its_filters(
    live_server, console_for, runtime, make_incident
):
    key = _intake(runtime)
    url = f"{live_server.url}/incidents/live?severity=P1&{_latest(runtime)}"
    with SseReader(url, _cookie(console_for)) as reader:
        sent = httpx.post(f"{live_server.url}/api/v1/intake/{key}", json=am_payload(am_alert("DiskFull")), timeout=10)
        assert sent.status_code == 200, sent.text
        reader.wait_for(lambda r: any("DiskFull" in e.data for e in r.events if e.event == "list"))
        raised = next(e for e in reader.events if e.event == "list" and "DiskFull" in e.data)
        assert "<h2>Open (1)</h2>" in raised.data
        make_incident(severity="P3", title="Search is slow")  # another severity: re-rendered, still filtered out
        reader.wait_for(lambda r: len([e for e in r.events if e.event == "list"]) >= 2)
        assert all("Search is slow" not in e.data for e in reader.events)


def test_a_status_change_and_a_resolve_show_in_the_list(live_server, console_for, runtime, make_incident):
    incident = make_incident(severity="P2", title="Checkout 502s")
    url = f"{live_server.url}/incidents/live?{_latest(runtime)}"
    with SseReader(url, _cookie(console_for)) as reader:
        with runtime.db.transaction() as session:
            found = incidents.get_for_update(session, incident.id)
            changes = incidents.Changes(status="investigating", message="looking", severity="P1")
            incidents.update(
                session, found, changes, severities=runtime.severities, actor=ALICE, now=runtime.clock.now()
            )
        reader.wait_for(lambda r: any("st-investigating" in e.data for e in r.events if e.event == "list"))
        changed = [e for e in reader.events if e.event == "list"]
        assert len(changed) == 1, "one render for the burst of events of one change"
        assert "sev-P1" in changed[0].data
        with runtime.db.transaction() as session:
            found = incidents.get_for_update(session, incident.id)
            incidents.resolve(session, found, ALICE, runtime.clock.now(), "fixed")
        reader.wait_for(lambda r: any("Recently resolved" in e.data for e in r.events if e.event == "list"))
        last = [e for e in reader.events if e.event == "list"][-1]
        resolved_part = last.data.split("Recently resolved", 1)[1]
        assert "Checkout 502s" in resolved_part and "st-resolved" in resolved_part


def test_an_event_committed_before_the_stream_opened_is_caught_up_on(live_server, console_for, runtime, make_incident):
    make_incident(title="Earlier")
    after = _latest(runtime)
    assert after, "make_incident's events are there"
    with runtime.db.transaction() as session:
        incidents.declare(
            session,
            title="Missed it",
            severity="P2",
            severities=runtime.severities,
            actor=ALICE,
            now=runtime.clock.now(),
        )
    with SseReader(f"{live_server.url}/incidents/live?{after}", _cookie(console_for)) as reader:
        reader.wait_for(lambda r: any("Missed it" in e.data for e in r.events if e.event == "list"))


def test_a_script_title_arriving_live_is_text(live_server, console_for, runtime):
    key = _intake(runtime)
    hostile = "<script>alert(1)</script>"
    with SseReader(f"{live_server.url}/incidents/live?{_latest(runtime)}", _cookie(console_for)) as reader:
        payload = am_payload(am_alert("Injected", summary=hostile, service=hostile))
        sent = httpx.post(f"{live_server.url}/api/v1/intake/{key}", json=payload, timeout=10)
        assert sent.status_code == 200, sent.text
        reader.wait_for(lambda r: any(e.event == "list" for e in r.events))
        data = next(e for e in reader.events if e.event == "list").data
        assert "&lt;script&gt;" in data and "<script>" not in data


def test_a_bad_filter_is_refused_by_name_before_any_stream(console_for):
    viewer = console_for("viewer")
    answer = viewer.get("/incidents/live?severity=P9")
    assert answer.status_code == 422
    assert "severity" in answer.text and "text/html" in answer.headers["content-type"]
    assert viewer.get("/incidents/live?after=x").status_code == 422


def test_the_incident_page_facts_and_paging_follow_events(live_server, console_for, runtime, make_incident):
    incident = make_incident(severity="P2", title="Checkout 502s")
    url = f"{live_server.url}/incidents/{incident.id}/live?{_latest(runtime)}"
    with SseReader(url, _cookie(console_for)) as reader:
        with runtime.db.transaction() as session:
            found = incidents.get_for_update(session, incident.id)
            changes = incidents.Changes(severity="P1", commander="bob")
            incidents.update(
                session, found, changes, severities=runtime.severities, actor=ALICE, now=runtime.clock.now()
            )
        reader.wait_for(lambda r: any(e.event == "facts" for e in r.events))
        facts = [e for e in reader.events if e.event == "facts"]
        assert len(facts) == 1
        assert "sev-P1" in facts[0].data and "<dd>bob</dd>" in facts[0].data
        assert any("bob" in e.data for e in reader.events if e.event == "timeline"), "the rows come on the same stream"
        with runtime.db.transaction() as session:
            found = incidents.get_for_update(session, incident.id)
            incidents.add_note(session, found, ALICE, runtime.clock.now(), "a note changes no fact")
        reader.wait_for(lambda r: any("a note changes no fact" in e.data for e in r.events if e.event == "timeline"))
        assert len([e for e in reader.events if e.event == "facts"]) == 1


def test_a_burst_of_changes_costs_one_render(live_server, console_for, runtime, make_incident, monkeypatch):
    monkeypatch.setattr(live_parts, "DEBOUNCE_SECONDS", 3.0)
    incident = make_incident(severity="P3", title="Queue backlog")
    # The burst is made deterministic, whatever the host's load: the live feed's reader hands out the first
    # change alone, and the other two (one batch) only once the stream has taken the first. With the debounce
    # the stream is still gathering then and renders once; without it, it renders the first batch at once.
    feed = runtime.extras["live_feed"]
    took_first, idle = threading.Event(), threading.Event()
    batches_taken: list[int] = []
    next_events = live.Subscription.next

    async def next_and_tell(self: live.Subscription, timeout: float) -> list[live.LiveEvent]:
        # The stream's own loop (not the debounce) asking again with nothing queued after both batches: every
        # render of the burst has been written to the connection.
        if timeout == live_parts.HEARTBEAT_SECONDS and not self._queue and len(batches_taken) >= 2:
            idle.set()
        events = await next_events(self, timeout)
        if events:
            batches_taken.append(len(events))
            took_first.set()
        return events

    monkeypatch.setattr(live.Subscription, "next", next_and_tell)

    def change(severity: str) -> None:
        with runtime.db.transaction() as session:
            found = incidents.get_for_update(session, incident.id)
            incidents.update(
                session,
                found,
                incidents.Changes(severity=severity),
                severities=runtime.severities,
                actor=ALICE,
                now=runtime.clock.now(),
            )

    with SseReader(f"{live_server.url}/incidents/live?{_latest(runtime)}", _cookie(console_for)) as reader:
        held = HeldFeed(feed)
        try:
            change("P2")
            assert held.holding.wait(60), "the feed never read the first change"
            change("P1")
            change("P0")
            held.release(hold_next=True)
            assert took_first.wait(60), "the stream never took the first change"
            assert held.holding.wait(60), "the feed never read the other two"
        finally:
            held.release()
        assert idle.wait(60), f"the stream never went back to waiting (took {batches_taken})"
        # A render reads the incidents as they are then, so a second render of the burst would look like the
        # first: a later change, in a render of its own, marks where the burst's renders end on the wire.
        change("P4")
        reader.wait_for(lambda r: any("sev-P4" in e.data for e in r.events if e.event == "list"))
        burst = list(takewhile(lambda e: "sev-P4" not in e.data, (e for e in reader.events if e.event == "list")))
        assert len(burst) == 1 and "sev-P0" in burst[0].data
