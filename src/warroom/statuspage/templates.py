"""The status update texts: default public and internal templates from the seeds, rendered in a sandbox.

Templates come from warroom.yaml (an operator's text) and are rendered with a sandboxed Jinja2
environment and StrictUndefined: a template cannot reach Python objects, and a misspelt variable is a
config error at load time (naming the field), never a 500 when someone posts an update. The output is
plain text: the public face escapes it where it becomes HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from warroom.errors import InvalidInput

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
MAINTENANCE_STATUSES = ("scheduled", "in_progress", "completed")

# From the seeds' "Status Page Update Template" (Investigating / Identified / Monitoring / Resolved).
DEFAULT_PUBLIC: dict[str, str] = {
    "investigating": "We are investigating reports of {{ title }}. We will provide updates as we learn more.",
    "identified": "We have identified the cause of {{ title }} and are implementing a fix.",
    "monitoring": "A fix has been implemented and we are monitoring the results.",
    "resolved": "This incident has been resolved.",
    "scheduled": "{{ title }} is scheduled from {{ starts_at }} to {{ ends_at }}.",
    "in_progress": "Scheduled maintenance is currently in progress. We will provide updates as necessary.",
    "completed": "The scheduled maintenance has been completed.",
}

# From the seeds' "INCIDENT UPDATE - [TIMESTAMP]" communication template, for the incident's own channels.
DEFAULT_INTERNAL = """INCIDENT UPDATE - {{ timestamp }}
Incident: #{{ number }} {{ title }}
Severity: {{ severity }}
Status: {{ status | capitalize }}
Impact: {{ impact or "not described yet" }}
Actions: {{ actions }}
Next Update: {{ next_update or "none planned" }}"""

# What each kind of template may use (and what a config check renders it with).
PUBLIC_SAMPLE: dict[str, Any] = {
    "title": "Checkout is slow",
    "components": ["Checkout"],
    "status": "investigating",
    "next_update": "2026-01-01 12:30 UTC",
    "starts_at": "2026-01-01 02:00 UTC",
    "ends_at": "2026-01-01 04:00 UTC",
    "page": "Example status",
}
INTERNAL_SAMPLE: dict[str, Any] = {
    "timestamp": "2026-01-01 12:00 UTC",
    "number": 1,
    "title": "Checkout API 502s",
    "severity": "P1",
    "status": "identified",
    "impact": "Customers cannot pay",
    "actions": "We found the cause",
    "public_text": "We found the cause",
    "public_title": "Checkout is slow",
    "components": ["Checkout"],
    "next_update": "2026-01-01 13:00 UTC",
}

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
MAX_TEMPLATE = 5000


def check(text: str, sample: Mapping[str, Any]) -> None:
    """Raise ValueError (a config problem) when `text` does not compile or render with `sample`."""
    if len(text) > MAX_TEMPLATE:
        raise ValueError(f"a template is at most {MAX_TEMPLATE} characters")
    try:
        _ENV.from_string(text).render(**sample)
    except TemplateError as exc:
        raise ValueError(f"template error: {exc.message or exc.__class__.__name__}") from None


def render(text: str, context: Mapping[str, Any], *, field: str) -> str:
    """The template rendered with `context`; InvalidInput naming `field` when it cannot be."""
    try:
        return _ENV.from_string(text).render(**context).strip()
    except TemplateError as exc:
        raise InvalidInput(f"The {field} template cannot be rendered: {exc.message}.", field=field) from None
