"""The On call page: on call now, two weeks day by day, overrides by role, and "send me a test" via the outbox."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.oncall.conftest import engine, webhook
from tests.oncall.helpers import oncall_config
from warroom.auth.models import AuditEntry
from warroom.oncall import service as oncall

pytestmark = pytest.mark.backend("sqlite", "postgresql")
__all__ = ["engine", "webhook"]


@pytest.fixture
def config(webhook):
    # alice is on call on "primary", bob on "secondary" (weekly rotations of one person); dora's pager is dead.
    return oncall_config(webhook)


def _overrides(runtime, schedule="primary"):
    with runtime.db.session() as session:
        return [(o.user_id, o.starts_at, o.ends_at, o.created_by) for o in oncall.list_overrides(session, schedule)]


def test_who_is_on_call_now_and_the_next_two_weeks(console_for):
    html = console_for("viewer").get("/oncall").text
    now_table = html.split('id="now-h"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"primary</a></th>\s*<td><strong>alice</strong>", now_table)
    assert re.search(r"secondary</a></th>\s*<td><strong>bob</strong>", now_table)
    primary = html.split('id="sched-1"', 1)[1].split("</table>", 1)[0]
    days = re.findall(r'<th scope="row">(\w{3} \d\d \w{3})</th>', primary)
    assert len(days) == 14 and days[0] == "Mon 05 Jan" and days[-1] == "Sun 18 Jan"
    assert primary.count("alice 00:00–24:00") == 14  # today from 00:00 too: all 14 days are alice's
    assert "nobody" not in primary


def test_a_responder_takes_a_shift_for_themselves_only(console_for, runtime):
    bob = console_for("responder", "bob")
    form = bob.get("/oncall").text
    assert '<input id="o-who" name="who" value="bob" readonly>' in form
    answer = bob.act("/oncall/overrides", {"schedule": "primary", "starts": "now", "ends": "+8h", "note": "swap"})
    assert answer.status_code == 303
    ((user, start, end, by),) = _overrides(runtime)
    assert (user, by) == ("bob", "bob") and end - start == timedelta(hours=8)
    page = bob.get("/oncall").text
    assert "Override 1: bob covers primary until 2026-01-05 17:00 UTC." in page
    assert re.search(r"primary</a></th>\s*<td><strong>bob</strong> <span class=\"muted\">\(override\)", page)
    assert "bob 09:00–17:00 (override)" in page
    refused = bob.act("/oncall/overrides", {"schedule": "primary", "who": "alice", "ends": "+1h"})
    assert refused.status_code == 403 and "for themselves only" in refused.text
    with runtime.db.session() as session:
        entry = session.query(AuditEntry).filter_by(action="schedule.override.add").one()
    assert (entry.actor, entry.actor_kind, entry.detail["user"]) == ("bob", "person", "bob")


def test_an_admin_adds_an_override_for_anyone_and_bad_input_names_the_field(console_for, runtime):
    admin = console_for("admin")
    assert '<select id="o-who" name="who">' in admin.get("/oncall").text
    ok = admin.act(
        "/oncall/overrides",
        {"schedule": "secondary", "who": "carol", "starts": "2026-01-06T08:00", "ends": "2026-01-06T20:00"},
    )
    assert ok.status_code == 303
    assert [o[0] for o in _overrides(runtime, "secondary")] == ["carol"]
    for data, status, field in (
        ({"schedule": "nope", "who": "carol", "ends": "+1h"}, 404, "schedule"),
        ({"schedule": "primary", "who": "nobody", "ends": "+1h"}, 404, "nobody"),
        ({"schedule": "primary", "who": "carol", "ends": "tomorrow"}, 422, "ends"),
        ({"schedule": "primary", "who": "carol", "ends": ""}, 422, "ends"),
        ({"schedule": "primary", "who": "carol", "starts": "+2h", "ends": "-1h"}, 422, "ends after it starts"),
    ):
        answer = admin.act("/oncall/overrides", data)
        assert answer.status_code == status and field in answer.text, (data, answer.status_code, answer.text[-500:])
    assert _overrides(runtime) == []


def test_a_viewer_sees_no_form_and_cannot_override_or_test(console_for, runtime):
    viewer = console_for("viewer", "alice")
    html = viewer.get("/oncall").text
    assert "Add override" not in html and "Send me a test" not in html
    assert viewer.act("/oncall/overrides", {"schedule": "primary", "ends": "+1h"}).status_code == 403
    assert viewer.act("/oncall/test").status_code == 403
    assert _overrides(runtime) == []


def test_send_me_a_test_goes_through_the_outbox_and_shows_the_result(console_for, engine, webhook, runtime):
    alice = console_for("responder", "alice")
    page = alice.get("/oncall").text
    assert "My contact methods" in page and "Send me a test" in page
    queued = alice.hx("/oncall/test")
    assert queued.status_code == 200 and "pending" in queued.text and 'hx-trigger="load delay:2s"' in queued.text
    assert webhook.messages == []  # queued, not sent by the request
    engine.run_due()
    (message,) = webhook.wait_for(1)
    assert message.title == "warroom test notification"
    query = re.search(r'hx-get="/oncall/test\?([^"]+)"', queued.text).group(1).replace("&amp;", "&")
    done = alice.get(f"/oncall/test?{query}", headers={"HX-Request": "true"}).text
    assert "sent" in done and "delivered 2026-01-05 09:00 UTC" in done and "hx-trigger" not in done
    # Someone else cannot read alice's results by guessing the id.
    assert "No test message found." in console_for("viewer", "vic").get(f"/oncall/test?{query}").text
    # Without JavaScript: the form posts, and the browser lands on the results page.
    plain = alice.act("/oncall/test")
    assert plain.status_code == 303 and plain.headers["location"].startswith("/oncall/test?id=")


def test_a_dead_contact_shows_its_error_and_a_person_without_on_call_user_is_told(console_for, engine, clock):
    dora = console_for("responder", "dora")
    queued = dora.hx("/oncall/test")
    query = re.search(r'hx-get="/oncall/test\?([^"]+)"', queued.text).group(1).replace("&amp;", "&")
    for _ in range(40):  # retries until notifications.retry_for runs out
        engine.run_due()
        clock.advance(minutes=2)
    result = dora.get(f"/oncall/test?{query}").text
    assert "failed" in result and "Connection" in result
    nobody = console_for("responder", "zed")
    assert "No on-call user <code>zed</code>" in nobody.get("/oncall").text
    refused = nobody.act("/oncall/test")
    assert refused.status_code == 422 and "No on-call user" in refused.text


def test_names_are_shown_as_text(console_for, runtime):
    admin = console_for("admin")
    admin.act(
        "/oncall/overrides", {"schedule": "primary", "who": "carol", "ends": "+1h", "note": "<script>x()</script>"}
    )
    html = admin.get("/oncall").text
    assert "&lt;script&gt;x()&lt;/script&gt;" in html and "<script>x()" not in html


def test_pages_need_a_session_and_actions_its_csrf_token(console_for, runtime):
    anonymous = console_for(None)
    assert anonymous.get("/oncall", follow_redirects=False).headers["location"] == "/login?next=%2Foncall"
    bogus = console_for(None)
    bogus.cookies.set("warroom_session", "forged")
    assert bogus.post("/oncall/test", follow_redirects=False).headers["location"] == "/login"
    admin = console_for("admin")
    data = {"schedule": "primary", "who": "carol", "ends": "+1h"}
    assert admin.post("/oncall/overrides", data=data, follow_redirects=False).status_code == 403
    forged = {**data, "csrf_token": "f" * 64}
    assert admin.post("/oncall/overrides", data=forged, follow_redirects=False).status_code == 403
    assert _overrides(runtime) == []


def test_a_responder_removes_their_own_override_an_admin_anyones(console_for, runtime):
    admin = console_for("admin")
    admin.act("/oncall/overrides", {"schedule": "primary", "who": "carol", "ends": "+1h"})
    admin.act("/oncall/overrides", {"schedule": "primary", "who": "bob", "starts": "+2h", "ends": "+3h"})
    bob = console_for("responder", "bob")
    page = bob.get("/oncall").text
    assert page.count(">Remove<") == 1 and 'action="/oncall/schedules/primary/overrides/2/remove"' in page
    refused = bob.act("/oncall/schedules/primary/overrides/1/remove")
    assert refused.status_code == 403 and "their own overrides only" in refused.text
    assert bob.act("/oncall/schedules/primary/overrides/2/remove").status_code == 303
    assert [o[0] for o in _overrides(runtime)] == ["carol"]
    assert console_for("viewer").act("/oncall/schedules/primary/overrides/1/remove").status_code == 403
    assert admin.act("/oncall/schedules/primary/overrides/1/remove").status_code == 303
    assert _overrides(runtime) == []
    assert admin.act("/oncall/schedules/primary/overrides/1/remove").status_code == 404
    assert admin.act("/oncall/schedules/nope/overrides/1/remove").status_code == 404
