"""The `## Action Items` checklist of a post-mortem, read and written as the seeds write it.

`- [ ] Add a replica - Owner: @alice - Due: 2026-12-09 - Ticket: https://...`; `[x]` is done and `[-]` won't
do; `1. [ ]` numbered lists are read too. An item is known by its text (case and spacing aside): editing
the text of a line is removing one item and adding another."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from warroom.errors import InvalidInput

HEADING = re.compile(r"^#{1,6}\s+action items\s*$", re.IGNORECASE)
ANY_HEADING = re.compile(r"^#{1,6}\s")
# Linear on any input (no nested or adjacent unbounded repeats that could backtrack): a checklist is text from
# outside. The fields at the end of a line are split off with rfind, not a regex search.
ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\[(?P<box>[ xX-])\][ \t]+(?P<rest>.*)$")
FIELD = re.compile(r"^(?P<name>Owner|Due|Ticket):[ \t]*(?P<value>\S+)$", re.IGNORECASE)
MAX_LINE = 2000
BOXES = {"open": " ", "done": "x", "wont_do": "-"}
STATES = {" ": "open", "x": "done", "X": "done", "-": "wont_do"}


@dataclass(frozen=True)
class Line:
    """One checklist line as written."""

    number: int  # 1-based line of the post-mortem
    text: str
    status: str
    owner: str | None
    due_on: date | None
    ticket_url: str | None

    @property
    def key(self) -> str:
        """What identifies the item: its text, case and spacing aside."""
        return key_of(self.text)


def key_of(text: str) -> str:
    """The identity of an item's text."""
    return " ".join(text.split()).casefold()


def section(body: str) -> tuple[int, int] | None:
    """(first, end) line indexes (0-based, end exclusive) of the Action Items section's content, or None."""
    lines = body.split("\n")
    for index, line in enumerate(lines):
        if HEADING.match(line.strip()):
            end = next((j for j in range(index + 1, len(lines)) if ANY_HEADING.match(lines[j])), len(lines))
            return index + 1, end
    return None


def parse(body: str) -> list[Line]:
    """The checklist lines of the Action Items section (none when the section is absent)."""
    bounds = section(body)
    if bounds is None:
        return []
    lines = body.split("\n")
    found: list[Line] = []
    for index in range(*bounds):
        match = ITEM.match(lines[index])
        if match is None or not match.group("rest").strip():
            continue
        number = index + 1
        if len(lines[index]) > MAX_LINE:
            raise InvalidInput(f"Action item on line {number} is longer than {MAX_LINE} characters.", field="body")
        rest = match.group("rest").strip()
        fields: dict[str, str] = {}
        while (cut := rest.rfind(" - ")) >= 0:
            field = FIELD.match(rest[cut + 3 :].strip())
            if field is None:
                break
            fields.setdefault(field.group("name").lower(), field.group("value"))
            rest = rest[:cut].rstrip()
        due = None
        if "due" in fields:
            try:
                due = date.fromisoformat(fields["due"])
            except ValueError:
                raise InvalidInput(
                    f"Action item on line {number}: Due {fields['due']!r} is not a date (YYYY-MM-DD).", field="body"
                ) from None
        owner = fields.get("owner", "").lstrip("@") or None
        found.append(Line(number, rest.strip(), STATES[match.group("box")], owner, due, fields.get("ticket")))
    return found


def render(text: str, status: str, owner: str | None, due_on: date | None, ticket_url: str | None) -> str:
    """The checklist line of an item."""
    line = f"- [{BOXES[status]}] {text}"
    if owner:
        line += f" - Owner: @{owner}"
    if due_on:
        line += f" - Due: {due_on.isoformat()}"
    if ticket_url:
        line += f" - Ticket: {ticket_url}"
    return line


def replace(body: str, rendered: list[str]) -> str:
    """`body` with its Action Items checklist replaced by `rendered` (other lines of the section are kept);
    a body without the section gains one at the end."""
    bounds = section(body)
    lines = body.split("\n")
    if bounds is None:
        tail = "" if body.endswith("\n") else "\n"
        return body + tail + "\n## Action Items\n" + "".join(f"{line}\n" for line in rendered)
    first, end = bounds
    inside = lines[first:end]
    cut = next((i for i, line in enumerate(inside) if ITEM.match(line)), len(inside))
    before = _trim(inside[:cut])
    after = _trim([line for line in inside[cut:] if ITEM.match(line) is None])
    content = before + rendered + after
    if end < len(lines):
        return "\n".join(lines[:first] + content + [""] + lines[end:])
    return "\n".join(lines[:first] + content) + "\n"


def _trim(lines: list[str]) -> list[str]:
    """`lines` without the blank lines at their end."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines
