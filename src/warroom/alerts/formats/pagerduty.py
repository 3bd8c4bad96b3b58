"""PagerDuty Events API v2 (`POST /v2/enqueue`): trigger, acknowledge and resolve events."""

from __future__ import annotations

import uuid
from typing import Any

from warroom.alerts.formats import FormatError, parse_time, string_map
from warroom.alerts.schemas import IncomingAlert

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")


class PagerDutyInvalid(FormatError):
    """An invalid event, with every problem listed the way PagerDuty lists them."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("", "; ".join(errors))
        self.errors = errors


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse(body: Any, _config: dict[str, Any]) -> list[IncomingAlert]:
    """One event as one alert; `dedup_key` is the fingerprint (a new one is made for a trigger without it)."""
    if not isinstance(body, dict):
        raise PagerDutyInvalid(["Event object must be a JSON object"])
    errors: list[str] = []
    action = body.get("event_action")
    if _blank(action):
        errors.append("'event_action' is missing or blank")
    elif action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
    dedup_key = body.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("'dedup_key' must be a string")
    elif isinstance(dedup_key, str) and len(dedup_key) > 255:
        errors.append("'dedup_key' is too long (max 255 characters)")
    payload = body.get("payload")
    if action == "trigger":
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
            payload = {}
        for name in ("summary", "source", "severity"):
            if _blank(payload.get(name)):
                errors.append(f"'payload.{name}' is missing or blank")
        severity = payload.get("severity")
        if isinstance(severity, str) and severity.strip() and severity not in SEVERITIES:
            errors.append("'payload.severity' is invalid (must be one of: critical, error, warning, info)")
        summary = payload.get("summary")
        if isinstance(summary, str) and len(summary) > 1024:
            errors.append("'payload.summary' is too long (max 1024 characters)")
    elif action in ("acknowledge", "resolve") and _blank(dedup_key):
        errors.append("'dedup_key' is missing or blank")
    if errors:
        raise PagerDutyInvalid(errors)
    payload = payload if isinstance(payload, dict) else {}
    key = dedup_key if isinstance(dedup_key, str) and dedup_key.strip() else uuid.uuid4().hex
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    if action == "trigger":
        summary = str(payload["summary"])
        labels = {
            "alertname": str(payload.get("class") or summary)[:200],
            "severity": str(payload["severity"]),
            "source": str(payload["source"]),
        }
        for name in ("component", "group", "class"):
            if not _blank(payload.get(name)):
                labels[name] = str(payload[name])
        annotations = {"summary": summary}
        details = payload.get("custom_details")
        if isinstance(details, dict):
            annotations.update({f"details.{k}": v for k, v in string_map(details, "payload.custom_details").items()})
        elif details is not None:
            annotations["details"] = str(details)
    try:
        starts_at = parse_time(payload.get("timestamp"), "payload.timestamp") if payload else None
    except FormatError as exc:
        raise PagerDutyInvalid([f"'payload.timestamp' is invalid ({exc.message})"]) from None
    client_url = body.get("client_url")
    return [
        IncomingAlert(
            fingerprint=key,
            status="resolved" if action == "resolve" else "firing",
            labels=labels,
            annotations=annotations,
            starts_at=starts_at,
            ends_at=None,
            generator_url=client_url if isinstance(client_url, str) and client_url else None,
            raw={k: v for k, v in body.items() if k != "routing_key"},
            acknowledge=action == "acknowledge",
        )
    ]
