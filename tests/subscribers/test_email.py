"""Email subscribers through HTTP and a real SMTP server: double opt-in, updates, one-click unsubscribe."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.subscribers.receivers import SmtpBox, body_of, link_in
from warroom.engine.worker import Engine
from warroom.runtime import Runtime
from warroom.statuspage.subscriber_models import Delivery, Subscriber, SubscriberToken

SAME_ANSWER = "If this address is not subscribed yet"


def _subscribe(client: TestClient, email: str, components: list[str] | None = None) -> Any:
    return client.post("/status/subscribe", data={"email": email, "components": components or []})


def _subscribed(public: TestClient, engine: Engine, smtp: SmtpBox, email: str, **kw: Any) -> None:
    assert SAME_ANSWER in _subscribe(public, email, **kw).text
    engine.run_due()
    confirm = link_in(smtp.to(email)[-1], "confirm")
    assert public.post(confirm).status_code == 200


def test_double_opt_in_then_update_then_one_click_unsubscribe(
    public: TestClient, engine: Engine, smtp: SmtpBox, publish: Callable[..., Any], runtime: Runtime
) -> None:
    page = public.get("/status/subscribe")
    assert page.status_code == 200 and 'name="email"' in page.text and 'value="checkout"' in page.text

    answer = _subscribe(public, "Ann@Example.com")
    assert answer.status_code == 200 and SAME_ANSWER in answer.text
    assert smtp.messages == []  # nothing is sent inside the request
    engine.run_due()
    [confirmation] = smtp.to("ann@example.com")
    assert "Confirm" in str(confirmation["Subject"])
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(confirmation["List-Unsubscribe"]).startswith("<http://127.0.0.1:8080/status/unsubscribe/")

    # Not confirmed yet: an update reaches nobody.
    publish("First look: checkouts are slow.")
    engine.run_due()
    assert len(smtp.messages) == 1

    confirm = link_in(confirmation, "confirm")
    shown = public.get(confirm)
    assert shown.status_code == 200 and "<button" in shown.text  # a GET confirms nothing (mail scanners)
    assert public.post(confirm).status_code == 200
    assert public.post(confirm).status_code == 404  # used once
    assert "not valid" in public.get(confirm).text

    update = publish("We found the cause: a slow database replica.", status="identified")
    engine.run_due()
    [message] = [m for m in smtp.to("ann@example.com") if "Identified" in str(m["Subject"])]
    text = body_of(message)
    assert "We found the cause: a slow database replica." in text and "Checkout is slow" in text
    assert "INTERNAL" not in text and "bob" not in text and "db-7" not in text  # only public fields
    assert message["Message-ID"] == f"<status.{update.id}.1@acme.test>"
    header = str(message["List-Unsubscribe"])
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = link_in(message, "unsubscribe")
    assert header == f"<http://127.0.0.1:8080{unsubscribe}>"

    # RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click` to the header's URL.
    gone = public.post(
        unsubscribe,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert gone.status_code == 200 and "Unsubscribed" in gone.text
    assert public.post(unsubscribe).status_code == 404  # reused
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 0  # the address is forgotten

    publish("Fixed.", status="resolved")
    engine.run_due()
    assert not [m for m in smtp.messages if "Resolved" in str(m["Subject"])]


def test_subscribing_twice_changes_nothing_and_says_the_same(
    public: TestClient, engine: Engine, smtp: SmtpBox, runtime: Runtime
) -> None:
    first = _subscribe(public, "bob@example.com")
    engine.run_due()
    second = _subscribe(public, "BOB@example.com")
    engine.run_due()
    assert first.status_code == second.status_code == 200
    assert first.text == second.text
    assert len(smtp.to("bob@example.com")) == 1
    _confirm = link_in(smtp.to("bob@example.com")[0], "confirm")
    assert public.post(_confirm).status_code == 200
    third = _subscribe(public, "bob@example.com")  # already confirmed: the same answer again
    engine.run_due()
    assert third.text == first.text and len(smtp.to("bob@example.com")) == 1
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 1
        assert session.scalar(select(Subscriber.state)) == "confirmed"


def test_forged_tokens_get_a_clear_404_page(public: TestClient) -> None:
    for path in ("/status/confirm/", "/status/unsubscribe/"):
        for token in ("x" * 43, "short", "A" * 300):
            for method in ("GET", "POST"):
                answer = public.request(method, path + token)
                assert answer.status_code == 404, (method, path, token)
                assert "text/html" in answer.headers["content-type"]
                assert "This link is not valid" in answer.text


def test_an_unsubscribe_token_does_not_confirm(
    public: TestClient, engine: Engine, smtp: SmtpBox, runtime: Runtime
) -> None:
    _subscribe(public, "eve@example.com")
    engine.run_due()
    unsubscribe = link_in(smtp.to("eve@example.com")[0], "unsubscribe")
    assert public.post(unsubscribe.replace("/unsubscribe/", "/confirm/")).status_code == 404
    with runtime.db.session() as session:
        assert session.scalar(select(Subscriber.state)) == "pending"
        # Only digests are stored: the token of the message is nowhere in the table.
        token = unsubscribe.rsplit("/", 1)[1]
        digests = list(session.scalars(select(SubscriberToken.digest)))
        assert digests and token not in digests and all(len(d) == 64 for d in digests)


def test_bad_addresses_are_refused_naming_the_field(public: TestClient, runtime: Runtime, clock: Any) -> None:
    clock.advance(timedelta(minutes=10))  # each case is one request of the five the rate limit allows
    for email in (
        "not-an-address",
        "ann@example.com\r\nBcc: all@example.com",
        "",
        "a" * 400 + "@example.com",
        "b" * 5000,
    ):
        clock.advance(timedelta(minutes=3))
        answer = _subscribe(public, email)
        assert answer.status_code == 422, email
        assert "email address" in answer.text.lower()
        assert "Bcc: all" not in answer.text
    clock.advance(timedelta(minutes=10))
    answer = _subscribe(public, "ann@example.com", components=["nope"])
    assert answer.status_code == 422 and "Unknown component" in answer.text
    answer = _subscribe(public, "ann@example.com", components=["api"] * 500)
    assert answer.status_code == 422 and "At most 100 components" in answer.text
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 0


def test_subscription_requests_are_rate_limited_per_client(public: TestClient, clock: Any) -> None:
    answers = [_subscribe(public, f"user{i}@example.com").status_code for i in range(6)]
    assert answers == [200] * 5 + [429]
    limited = _subscribe(public, "late@example.com")
    assert limited.status_code == 429 and "Too many" in limited.text
    assert int(limited.headers["Retry-After"]) > 0
    clock.advance(timedelta(minutes=10))
    assert _subscribe(public, "late@example.com").status_code == 200


def test_component_filter(public: TestClient, engine: Engine, smtp: SmtpBox, publish: Callable[..., Any]) -> None:
    _subscribed(public, engine, smtp, "api-only@example.com", components=["api"])
    _subscribed(public, engine, smtp, "all@example.com")
    publish("Checkout errors.", components=("checkout",))
    publish("API latency.", components=("api",), incident="inc-2")
    engine.run_due()

    def updates(address: str) -> list[str]:
        return sorted(body_of(m).splitlines()[2] for m in smtp.to(address) if "Confirm" not in str(m["Subject"]))

    assert updates("api-only@example.com") == ["Investigating - API latency."]
    assert updates("all@example.com") == ["Investigating - API latency.", "Investigating - Checkout errors."]


def test_no_address_on_public_routes(
    public: TestClient, engine: Engine, smtp: SmtpBox, publish: Callable[..., Any]
) -> None:
    _subscribed(public, engine, smtp, "secret.person@example.com")
    seen = [public.get("/status/subscribe").text, _subscribe(public, "secret.person@example.com").text]
    unsubscribe = link_in(smtp.to("secret.person@example.com")[0], "unsubscribe")
    seen += [public.get(unsubscribe).text, public.post(unsubscribe).text]
    assert all("secret.person" not in page for page in seen)


def test_a_refused_message_is_retried_and_arrives_once(
    public: TestClient, engine: Engine, smtp: SmtpBox, publish: Callable[..., Any], clock: Any, runtime: Runtime
) -> None:
    _subscribed(public, engine, smtp, "ann@example.com")
    smtp.refuse = 1
    publish("Slow checkouts.")
    engine.run_due()
    assert [m for m in smtp.to("ann@example.com") if "Investigating" in str(m["Subject"])] == []
    with runtime.db.session() as session:
        delivery = session.scalars(select(Delivery)).one()
        assert delivery.state == "pending" and delivery.attempts == 1 and "451" in (delivery.last_error or "")
    clock.advance(timedelta(seconds=11))
    engine.run_due()
    clock.advance(timedelta(minutes=5))
    engine.run_due()
    assert len([m for m in smtp.to("ann@example.com") if "Investigating" in str(m["Subject"])]) == 1


def test_tokens_in_paths_are_not_echoed(public: TestClient, engine: Engine, smtp: SmtpBox) -> None:
    from warroom.secretpaths import redact

    _subscribe(public, "ann@example.com")
    engine.run_due()
    confirm = link_in(smtp.to("ann@example.com")[0], "confirm")
    token = confirm.rsplit("/", 1)[1]
    answer = public.put(confirm)  # no such method: a problem whose `instance` is the path, redacted
    assert answer.status_code == 405 and token not in answer.text
    assert redact(confirm) == "/status/confirm/***"
    assert redact(f"/status/unsubscribe/{token}?x=1") == "/status/unsubscribe/***?x=1"
