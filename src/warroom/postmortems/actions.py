"""Action items: created on their own or in a post-mortem's checklist, and kept in step with it both ways."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warroom.auth.actor import Actor
from warroom.errors import InvalidInput, NotFound
from warroom.incidents import service as incidents
from warroom.postmortems import checklist, people, schedule
from warroom.postmortems.models import ActionItem, Postmortem, PostmortemVersion

STATUSES = ("open", "done", "wont_do")
MAX_TEXT = 500
MAX_LIMIT = 500


def clean_text(text: str, *, field: str = "text") -> str:
    """An item's text on one line, not empty, not too long."""
    text = " ".join(text.split())
    if not text:
        raise InvalidInput("An action item needs some text.", field=field)
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"An action item's text is longer than {MAX_TEXT} characters.", field=field)
    return text


def clean_ticket(url: str | None, *, field: str = "ticket_url") -> str | None:
    """A ticket link: http or https with a host, or None."""
    if url is None or not url.strip():
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url) or len(url) > 2000:
        raise InvalidInput(f"Ticket URL {url[:80]!r} is not an http(s) link.", field=field)
    return url


def clean_status(status: str, *, field: str = "status") -> str:
    """One of open, done, wont_do."""
    value = status.strip().lower().replace("-", "_").replace("'", "").replace(" ", "_")
    value = {"wontdo": "wont_do"}.get(value, value)
    if value not in STATUSES:
        raise InvalidInput(f"Unknown status {status!r}: expected one of {', '.join(STATUSES)}.", field=field)
    return value


def line_of(item: ActionItem) -> str:
    """The item as a checklist line."""
    return checklist.render(item.text, item.status, item.owner, item.due_on, item.ticket_url)


def as_dict(item: ActionItem) -> dict[str, Any]:
    """The item for the export's front matter."""
    return {
        "id": item.id,
        "text": item.text,
        "owner": item.owner,
        "due": item.due_on.isoformat() if item.due_on else None,
        "status": item.status,
        "ticket_url": item.ticket_url,
    }


def of_incident(session: Session, incident_id: int) -> list[ActionItem]:
    """The incident's action items, in the order they were created."""
    return list(
        session.scalars(select(ActionItem).where(ActionItem.incident_id == incident_id).order_by(ActionItem.id))
    )


def get_or_404(session: Session, item_id: int) -> ActionItem:
    """The action item, or NotFound."""
    item = session.get(ActionItem, item_id)
    if item is None:
        raise NotFound(f"No action item {item_id}: see `warroom action list`.", field="item_id")
    return item


def _set_status(item: ActionItem, status: str, now: datetime) -> None:
    if status != item.status:
        item.status = status
        item.closed_at = None if status == "open" else now
    item.updated_at = now


def add(
    session: Session,
    runtime: Any,
    *,
    incident: int,
    text: str,
    owner: str | None,
    due_on: date | None,
    ticket_url: str | None,
    actor: Actor,
    now: datetime,
) -> ActionItem:
    """Create an action item for `incident`; its post-mortem's checklist gains the line (a new version)."""
    incidents.get_or_404(session, incident)
    item = _create(session, incident, text, owner, due_on, ticket_url, "open", actor, now)
    _write_checklist(session, incident, actor, now, f"action item {item.id} added")
    schedule.plan_item(session, item, now)
    return item


def _create(
    session: Session,
    incident: int,
    text: str,
    owner: str | None,
    due_on: date | None,
    ticket_url: str | None,
    status: str,
    actor: Actor,
    now: datetime,
) -> ActionItem:
    text = clean_text(text)
    if any(checklist.key_of(i.text) == checklist.key_of(text) for i in of_incident(session, incident)):
        raise InvalidInput(f"Incident #{incident} already has the action item {text!r}.", field="text")
    item = ActionItem(
        incident_id=incident,
        text=text,
        owner=people.check_owner(session, owner) if owner else None,
        due_on=due_on,
        status=status,
        ticket_url=clean_ticket(ticket_url),
        created_by=actor.name,
        created_at=now,
        updated_at=now,
        closed_at=None if status == "open" else now,
    )
    session.add(item)
    session.flush()
    return item


def update(
    session: Session,
    runtime: Any,
    item: ActionItem,
    changes: dict[str, Any],
    *,
    actor: Actor,
    now: datetime,
) -> ActionItem:
    """Change an item's text, owner, due date, status or ticket; the checklist follows (a new version)."""
    if "text" in changes and changes["text"] is not None:
        text = clean_text(changes["text"])
        others = [i for i in of_incident(session, item.incident_id) if i.id != item.id]
        if any(checklist.key_of(i.text) == checklist.key_of(text) for i in others):
            raise InvalidInput(f"Incident #{item.incident_id} already has the action item {text!r}.", field="text")
        item.text = text
    if "owner" in changes:
        owner = changes["owner"]
        item.owner = people.check_owner(session, owner) if owner else None
    if "due_on" in changes:
        item.due_on = changes["due_on"]
        item.reminded_on = None
    if "ticket_url" in changes:
        item.ticket_url = clean_ticket(changes["ticket_url"])
    if changes.get("status") is not None:
        _set_status(item, clean_status(changes["status"]), now)
    item.updated_at = now
    _write_checklist(session, item.incident_id, actor, now, f"action item {item.id} is {item.status}")
    schedule.plan_item(session, item, now)
    return item


def _write_checklist(session: Session, incident: int, actor: Actor, now: datetime, summary: str) -> None:
    """Rewrite the checklist of the incident's post-mortem from the stored items, as a new version if it changed.

    This writes even on a published post-mortem: ticking an item tracks the follow-up, it does not rewrite
    what was published."""
    postmortem = session.scalar(select(Postmortem).where(Postmortem.incident_id == incident))
    if postmortem is None:
        return
    current = session.scalar(
        select(PostmortemVersion).where(
            PostmortemVersion.postmortem_id == postmortem.id, PostmortemVersion.number == postmortem.version
        )
    )
    if current is None:
        return
    body = checklist.replace(current.body, [line_of(i) for i in of_incident(session, incident)])
    if body == current.body:
        return
    postmortem.version += 1
    postmortem.updated_at = now
    session.add(
        PostmortemVersion(
            postmortem_id=postmortem.id,
            number=postmortem.version,
            body=body,
            author=actor.name,
            summary=summary[:300],
            created_at=now,
        )
    )
    session.flush()


def sync_from_body(session: Session, runtime: Any, incident: int, body: str, *, actor: Actor, now: datetime) -> str:
    """Bring the stored items in step with the checklist of an edited post-mortem: new lines add items, ticks
    change their status, fields their owner/due/ticket, and removed lines remove them. Returns the body with
    each checklist line written the canonical way."""
    lines = checklist.parse(body)
    existing = {checklist.key_of(i.text): i for i in of_incident(session, incident)}
    seen: set[str] = set()
    for line in lines:
        if line.key in seen:
            raise InvalidInput(f"Action item on line {line.number} is listed twice: {line.text!r}.", field="body")
        seen.add(line.key)
        try:
            owner = people.check_owner(session, line.owner) if line.owner else None
            ticket = clean_ticket(line.ticket_url)
            text = clean_text(line.text)
        except InvalidInput as exc:
            raise InvalidInput(f"Action item on line {line.number}: {exc.detail}", field="body") from None
        item = existing.get(line.key)
        if item is None:
            item = _create(session, incident, text, owner, line.due_on, ticket, line.status, actor, now)
        else:
            if item.due_on != line.due_on:
                item.reminded_on = None
            item.owner, item.due_on, item.ticket_url = owner, line.due_on, ticket
            _set_status(item, line.status, now)
        schedule.plan_item(session, item, now)
    for key, item in existing.items():
        if key not in seen:
            schedule.cancel_item(session, item)
            session.delete(item)
    session.flush()
    if not lines and checklist.section(body) is None:
        return body
    return checklist.replace(body, [line_of(i) for i in of_incident(session, incident)])


def list_items(
    session: Session,
    *,
    status: str | None = None,
    owner: str | None = None,
    incident: int | None = None,
    overdue: bool = False,
    today: date,
    limit: int = 100,
) -> list[ActionItem]:
    """Action items, soonest due first (items without a due date last)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    query = select(ActionItem)
    if status:
        query = query.where(ActionItem.status == clean_status(status))
    if owner:
        query = query.where(ActionItem.owner == owner.strip().lstrip("@"))
    if incident is not None:
        query = query.where(ActionItem.incident_id == incident)
    if overdue:
        query = query.where(ActionItem.status == "open", ActionItem.due_on < today)
    query = query.order_by(ActionItem.due_on.is_(None), ActionItem.due_on, ActionItem.id).limit(limit)
    return list(session.scalars(query))


def action_item_counts(session: Session, *, since: datetime, until: datetime) -> dict[str, int]:
    """For the reports: items opened in [since, until), done in it, and overdue at `until` (open, due before)."""
    opened = session.scalar(
        select(func.count())
        .select_from(ActionItem)
        .where(ActionItem.created_at >= since, ActionItem.created_at < until)
    )
    done = session.scalar(
        select(func.count())
        .select_from(ActionItem)
        .where(ActionItem.status == "done", ActionItem.closed_at >= since, ActionItem.closed_at < until)
    )
    overdue = session.scalar(
        select(func.count())
        .select_from(ActionItem)
        .where(
            ActionItem.created_at < until,
            ActionItem.due_on < until.date(),
            (ActionItem.status == "open") | (ActionItem.closed_at >= until),
        )
    )
    return {"opened": int(opened or 0), "done": int(done or 0), "overdue": int(overdue or 0)}
