"""Confirmation links expire after 48 hours, and asking again for a pending address sends a fresh one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.subscribers.receivers import SmtpBox, body_of, link_in
from warroom.engine.worker import Engine
from warroom.runtime import Runtime
from warroom.statuspage.subscriber_models import Subscriber

SAME_ANSWER = "If this address is not subscribed yet"


def _ask(public: TestClient, email: str, components: list[str] | None = None) -> str:
    answer = public.post("/status/subscribe", data={"email": email, "components": components or []})
    assert answer.status_code == 200
    return answer.text


def test_a_confirmation_link_expires_after_48_hours_and_says_so(
    public: TestClient, engine: Engine, smtp: SmtpBox, clock: object
) -> None:
    _ask(public, "ann@example.com")
    engine.run_due()
    [mail] = smtp.to("ann@example.com")
    assert "48 hours" in body_of(mail)
    confirm = link_in(mail, "confirm")
    clock.advance(timedelta(hours=47, minutes=59))  # type: ignore[attr-defined]
    assert public.get(confirm).status_code == 200  # still works (a GET only asks)
    clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    for method in ("GET", "POST"):
        late = public.request(method, confirm)
        assert late.status_code == 404 and "expired" in late.text and "Ask again" in late.text


def test_asking_again_for_a_pending_or_expired_address_sends_a_fresh_link(
    public: TestClient, engine: Engine, smtp: SmtpBox, clock: object, runtime: Runtime, source: object
) -> None:
    first = _ask(public, "bob@example.com")
    engine.run_due()
    old = link_in(smtp.to("bob@example.com")[-1], "confirm")
    clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    assert public.post(old).status_code == 404  # expired
    again = _ask(public, "Bob@Example.com", ["checkout"])
    assert again == first  # the same answer whatever the state
    engine.run_due()
    mails = smtp.to("bob@example.com")
    assert len(mails) == 2 and "checkout" in body_of(mails[-1])
    fresh = link_in(mails[-1], "confirm")
    assert fresh != old
    assert public.post(fresh).status_code == 200
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 1
        row = session.scalar(select(Subscriber))
        assert row is not None and row.state == "confirmed" and row.component_ids == ["checkout"]
    # Confirmed now: asking again sends nothing, and says the same.
    clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    assert _ask(public, "bob@example.com") == first
    engine.run_due()
    assert len(smtp.to("bob@example.com")) == 2


def test_a_pending_address_gets_at_most_one_link_per_five_minutes(
    public: TestClient, engine: Engine, smtp: SmtpBox, clock: object
) -> None:
    _ask(public, "cy@example.com")
    engine.run_due()
    clock.advance(timedelta(minutes=4))  # type: ignore[attr-defined]
    _ask(public, "cy@example.com")
    engine.run_due()
    assert len(smtp.to("cy@example.com")) == 1  # nobody can flood an inbox by asking from many places
    clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    _ask(public, "cy@example.com")
    engine.run_due()
    mails = smtp.to("cy@example.com")
    assert len(mails) == 2
    # The earlier, unexpired link still works too (a message delayed in transit must not hold a dead link).
    assert public.post(link_in(mails[0], "confirm")).status_code == 200
