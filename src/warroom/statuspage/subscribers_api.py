"""HTTP routes of subscribers: the public subscribe, confirm and unsubscribe pages, and the admin API."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from warroom.auth import service as audit
from warroom.deps import DB_INT_MAX, Admin, PathId, ReadSession, RuntimeDep, WriteSession
from warroom.errors import InvalidInput, NotFound, WarroomError
from warroom.runtime import Runtime
from warroom.statuspage import subscribers
from warroom.statuspage.ratelimit import RateLimiter
from warroom.statuspage.subscriber_delivery import config_of, page_name, request_confirmation
from warroom.statuspage.subscriber_models import Subscriber
from warroom.statuspage.subscriber_source import source_of
from warroom.timeparse import parse_duration

api = APIRouter(prefix="/api/v1/status", tags=["status page"])
# Pages a person opens in a browser (or a mail client posts to): HTML, outside the API schema.
pages = APIRouter(include_in_schema=False)

# -- pages -------------------------------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}
button{{font-size:1.05rem;padding:.55rem 1.3rem;border-radius:.4rem;border:0;background:#1f5fbf;color:#fff}}
input[type=email]{{font-size:1rem;padding:.45rem;width:100%;box-sizing:border-box}}
fieldset{{border:1px solid #ccc;border-radius:.4rem;margin:1rem 0}}.error{{color:#a00}}.muted{{color:#555}}</style>
</head><body><main><h1>{title}</h1>{body}</main></body></html>"""


def _html(title: str, body: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    response = HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status, headers=headers)
    # Nothing here may be cached by a proxy: the confirm and unsubscribe pages are per person.
    response.headers["Cache-Control"] = "no-store"
    return response


def _not_found(detail: str = subscribers.NOT_VALID) -> HTMLResponse:
    return _html("Link not valid", f"<p>{html.escape(detail)}</p>", 404)


def _enabled(runtime: Runtime) -> bool:
    return config_of(runtime).enabled


def _form(
    session: Session, runtime: Runtime, *, error: str = "", email: str = "", chosen: list[str] | None = None
) -> str:
    chosen = chosen or []
    boxes = "".join(
        f'<label><input type="checkbox" name="components" value="{html.escape(cid)}"'
        f"{' checked' if cid in chosen else ''}> {html.escape(name)}</label><br>"
        for cid, name in source_of(runtime).component_choices(session)
    )
    components = (
        f"<fieldset><legend>Only these components (none checked: all)</legend>{boxes}</fieldset>" if boxes else ""
    )
    problem = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return (
        f'{problem}<form method="post" action="/status/subscribe">'
        f'<label for="email">Email address</label><br>'
        f'<input type="email" id="email" name="email" required maxlength="320" autocomplete="email" '
        f'value="{html.escape(email)}">{components}'
        f"<p><button type=submit>Subscribe</button></p></form>"
        f'<p class="muted">We send a confirmation link first; nothing else is sent until you open it. '
        f"Every message has a one-click unsubscribe link.</p>"
    )


def _limiter(runtime: Runtime) -> RateLimiter:
    limiter = runtime.extras.get("statuspage.subscribe_limiter")
    if not isinstance(limiter, RateLimiter):
        cfg = config_of(runtime).rate_limit
        limiter = RateLimiter(cfg.requests, parse_duration(cfg.per))
        runtime.extras["statuspage.subscribe_limiter"] = limiter
    return limiter


@pages.get("/status/subscribe", response_class=HTMLResponse)
def subscribe_page(session: ReadSession, runtime: RuntimeDep) -> HTMLResponse:
    """The subscribe form."""
    if not _enabled(runtime):
        return _html("Not found", "<p>This status page takes no subscriptions.</p>", 404)
    return _html(f"Subscribe to {page_name(runtime)}", _form(session, runtime))


@pages.post("/status/subscribe", response_class=HTMLResponse)
def subscribe(
    request: Request,
    session: WriteSession,
    runtime: RuntimeDep,
    email: Annotated[str, Form()] = "",
    components: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> HTMLResponse:
    """Ask for a subscription: the same answer whether or not the address was already subscribed."""
    if not _enabled(runtime):
        return _html("Not found", "<p>This status page takes no subscriptions.</p>", 404)
    now = runtime.clock.now()
    client = request.client.host if request.client else "unknown"
    wait = _limiter(runtime).allow(client, now)
    if wait is not None:
        seconds = max(int(wait.total_seconds()) + 1, 1)
        return _html(
            "Too many requests",
            f"<p>Too many subscription requests from your address. Try again in {seconds} seconds.</p>",
            429,
            headers={"Retry-After": str(seconds)},
        )
    known = [cid for cid, _name in source_of(runtime).component_choices(session)]
    try:
        if len(components) > subscribers.MAX_COMPONENTS:
            raise InvalidInput(f"At most {subscribers.MAX_COMPONENTS} components.", field="components")
        address = subscribers.normalize_email(email)
        chosen = subscribers.clean_components(components, known)
    except WarroomError as exc:
        shown_email = email if len(email) <= 320 and "\n" not in email and "\r" not in email else ""
        body = _form(
            session, runtime, error=exc.detail, email=shown_email, chosen=[c for c in components if c in known]
        )
        return _html(f"Subscribe to {page_name(runtime)}", body, 422)
    new_id = subscribers.subscribe_email(session, address, chosen, now=now)
    if new_id is not None:
        request_confirmation(session, new_id, now=now)
    session.commit()
    return _html(
        "Check your inbox",
        "<p>If this address is not subscribed yet, a confirmation link is on its way to it. "
        "Open it to start receiving updates.</p>",
    )


def _link_page(session: Session, runtime: Runtime, token: str, purpose: str, title: str, button: str) -> HTMLResponse:
    """The page a confirm or unsubscribe link opens: one button that posts back (a GET changes nothing: mail
    scanners follow links); 404 for a link that is used, expired or was never issued."""
    try:
        subscribers.find_by_token(session, token, purpose, now=runtime.clock.now())
    except NotFound as exc:
        return _not_found(exc.detail)
    return _html(title, f'<form method="post"><button type=submit>{button}</button></form>')


def _use_link(
    session: Session,
    runtime: Runtime,
    token: str,
    change: Callable[..., Subscriber],
    title: str,
    said: str,
) -> HTMLResponse:
    """Use a confirm or unsubscribe link (it works once): `change` committed, or 404 when the link is not valid."""
    try:
        change(session, token, now=runtime.clock.now())
    except NotFound as exc:
        session.rollback()
        return _not_found(exc.detail)
    session.commit()
    return _html(title, f"<p>{said}</p>")


@pages.get("/status/confirm/{token}", response_class=HTMLResponse)
def confirm_page(token: str, session: ReadSession, runtime: RuntimeDep) -> HTMLResponse:
    """The confirmation page (a GET confirms nothing: mail scanners follow links)."""
    title = f"Confirm your subscription to {page_name(runtime)}"
    return _link_page(session, runtime, token, subscribers.CONFIRM, title, "Confirm subscription")


@pages.post("/status/confirm/{token}", response_class=HTMLResponse)
def confirm(token: str, session: WriteSession, runtime: RuntimeDep) -> HTMLResponse:
    """Confirm a subscription; the link works once."""
    said = f"You will receive updates from {html.escape(page_name(runtime))}."
    return _use_link(session, runtime, token, subscribers.confirm, "Subscribed", said)


@pages.get("/status/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, session: ReadSession, runtime: RuntimeDep) -> HTMLResponse:
    """The unsubscribe page with its button (a GET changes nothing)."""
    title = f"Unsubscribe from {page_name(runtime)}"
    return _link_page(session, runtime, token, subscribers.UNSUBSCRIBE, title, "Unsubscribe")


@pages.post("/status/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(token: str, session: WriteSession, runtime: RuntimeDep) -> HTMLResponse:
    """Unsubscribe: the button, or a mail client's RFC 8058 one-click POST (`List-Unsubscribe=One-Click`)."""
    said = f"You will receive no more updates from {html.escape(page_name(runtime))}."
    return _use_link(session, runtime, token, subscribers.unsubscribe, "Unsubscribed", said)


# -- admin API ---------------------------------------------------------------------------------------------------


class SubscriberRead(BaseModel):
    """A subscriber as an admin sees it (a webhook URL without its credentials or query)."""

    id: int
    kind: str
    address: str
    state: str
    components: list[str]
    created_at: datetime
    confirmed_at: datetime | None

    @classmethod
    def of(cls, row: Subscriber) -> SubscriberRead:
        """From the row."""
        return cls(
            id=row.id,
            kind=row.kind,
            address=subscribers.mask_address(row),
            state=row.state,
            components=[str(c) for c in row.component_ids or []],
            created_at=row.created_at,
            confirmed_at=row.confirmed_at,
        )


class WebhookCreate(BaseModel):
    """A webhook subscriber: an http(s) URL and, optionally, the public component ids it wants."""

    url: str = Field(min_length=1, max_length=2000)
    components: list[Annotated[str, Field(max_length=100)]] = Field(default=[], max_length=subscribers.MAX_COMPONENTS)


def _known(session: Session, runtime: Runtime) -> list[str] | None:
    ids = [cid for cid, _name in source_of(runtime).component_choices(session)]
    return ids or None


@api.get("/subscribers", response_model=list[SubscriberRead])
def list_subscribers(
    session: ReadSession,
    _actor: Admin,
    kind: Annotated[Literal["email", "webhook"] | None, Query(description="email or webhook")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[int, Query(ge=0, le=DB_INT_MAX, description="Only ids after this one (paging).")] = 0,
) -> list[SubscriberRead]:
    """Subscribers by id (admin: the addresses are personal data)."""
    return [SubscriberRead.of(r) for r in subscribers.list_subscribers(session, kind, limit=limit, after=after)]


@api.post("/subscribers", status_code=201, response_model=SubscriberRead)
def add_subscriber(body: WebhookCreate, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> SubscriberRead:
    """Add a webhook subscriber; it receives Statuspage-shaped JSON for each public update."""
    now = runtime.clock.now()
    url = subscribers.normalize_webhook_url(body.url)
    chosen = subscribers.clean_components(body.components, _known(session, runtime))
    row = subscribers.add_webhook(session, url, chosen, now=now)
    audit.record(
        session,
        actor,
        "status_subscriber.add",
        f"status_subscriber:{row.id}",
        now=now,
        detail={"kind": row.kind, "components": chosen},
    )
    session.commit()
    return SubscriberRead.of(row)


@api.delete("/subscribers/{subscriber_id}", status_code=204, response_class=Response)
def remove_subscriber(subscriber_id: PathId, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> Response:
    """Remove a subscriber (email or webhook) and what was still queued for it."""
    now = runtime.clock.now()
    row = subscribers.get_or_404(session, subscriber_id)
    kind = row.kind
    subscribers.remove_subscriber(session, row)
    audit.record(
        session, actor, "status_subscriber.remove", f"status_subscriber:{subscriber_id}", now=now, detail={"kind": kind}
    )
    session.commit()
    return Response(status_code=204)


router = APIRouter()
router.include_router(api)
router.include_router(pages)
