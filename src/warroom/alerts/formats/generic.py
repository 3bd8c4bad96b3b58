"""Any JSON object: fields found by dotted paths (the integration's `mapping`), with a documented default shape.

Default shape (no mapping needed)::

    {"title": "Disk full on db-1", "status": "firing", "fingerprint": "db-1-disk",
     "severity": "critical", "labels": {"service": "db"}, "annotations": {"runbook": "..."},
     "url": "https://..."}

`alerts: [...]` (or a top-level list) sends several at once. `status` accepts firing/resolved and the usual
synonyms (ok, resolved, triggered, alerting, problem, down, up)."""

from __future__ import annotations

from typing import Any

from warroom.alerts.formats import FormatError, parse_time, string_map
from warroom.alerts.schemas import IncomingAlert

DEFAULT_MAPPING: dict[str, str] = {
    "title": "title",
    "status": "status",
    "fingerprint": "fingerprint",
    "severity": "severity",
    "labels": "labels",
    "annotations": "annotations",
    "url": "url",
    "starts_at": "starts_at",
}
MAPPING_FIELDS = (*DEFAULT_MAPPING, "alerts", "status_map")
_FIRING = {"firing", "triggered", "trigger", "alerting", "problem", "down", "critical", "error", "open", "active"}
_RESOLVED = {"resolved", "resolve", "ok", "up", "normal", "closed", "recovered", "inactive"}


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path (`data.items.0.name`); None when any step is missing."""
    current = data
    for step in path.split("."):
        if isinstance(current, dict):
            current = current.get(step)
        elif isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        else:
            return None
        if current is None:
            return None
    return current


def check_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    """A mapping with known fields only; InvalidInput-like FormatError names the unknown ones."""
    unknown = sorted(set(mapping) - set(MAPPING_FIELDS))
    if unknown:
        raise FormatError(
            "mapping", f"unknown field(s) {', '.join(unknown)}: expected some of {', '.join(MAPPING_FIELDS)}"
        )
    for key, value in mapping.items():
        if key == "status_map":
            if not isinstance(value, dict):
                raise FormatError("mapping.status_map", "expected an object of sender status → firing|resolved")
        elif not isinstance(value, str) or not value:
            raise FormatError(f"mapping.{key}", "expected a dotted path such as data.alert.name")
    return mapping


def parse(body: Any, config: dict[str, Any]) -> list[IncomingAlert]:
    """Alerts from any JSON using the integration's mapping (merged over the default shape)."""
    mapping: dict[str, Any] = {**DEFAULT_MAPPING, **(config.get("mapping") or {})}
    status_map = {str(k).lower(): str(v).lower() for k, v in (mapping.get("status_map") or {}).items()}
    if isinstance(body, list):
        items, prefix = body, ""
    elif isinstance(body, dict):
        listed = dig(body, mapping["alerts"]) if mapping.get("alerts") else body.get("alerts")
        if isinstance(listed, list):
            items, prefix = listed, f"{mapping.get('alerts', 'alerts')}."
        else:
            items, prefix = [body], ""
    else:
        raise FormatError("", "the body must be a JSON object or a list of objects")
    if not items:
        raise FormatError("alerts", "no alert in the payload")
    return [
        _one(item, mapping, status_map, f"{prefix}{index}" if prefix or len(items) > 1 else "")
        for index, item in enumerate(items)
    ]


def _one(item: Any, mapping: dict[str, Any], status_map: dict[str, str], where: str) -> IncomingAlert:
    def at(name: str) -> str:
        return f"{where}.{mapping[name]}" if where else str(mapping[name])

    if not isinstance(item, dict):
        raise FormatError(where or "", "expected an object")
    title = dig(item, mapping["title"])
    if title is None or (isinstance(title, str) and not title.strip()):
        raise FormatError(at("title"), "missing: every alert needs a title (map it with mapping.title)")
    raw_status = dig(item, mapping["status"])
    status = "firing"
    if raw_status is not None:
        text = str(raw_status).strip().lower()
        text = status_map.get(text, text)
        if text in _RESOLVED:
            status = "resolved"
        elif text not in _FIRING:
            raise FormatError(
                at("status"),
                f"unknown status {raw_status!r}: use firing or resolved (or map it with mapping.status_map)",
            )
    labels_value = dig(item, mapping["labels"])
    try:
        labels = string_map(labels_value, at("labels"))
    except FormatError:
        raise FormatError(at("labels"), "expected an object of strings") from None
    labels.setdefault("alertname", str(title)[:200])
    severity = dig(item, mapping["severity"])
    if severity is not None:
        labels.setdefault("severity", str(severity))
    annotations = string_map(dig(item, mapping["annotations"]), at("annotations"))
    annotations.setdefault("summary", str(title))
    fingerprint = dig(item, mapping["fingerprint"])
    url = dig(item, mapping["url"])
    return IncomingAlert(
        fingerprint=str(fingerprint) if fingerprint not in (None, "") else None,
        status=status,
        labels=labels,
        annotations=annotations,
        starts_at=parse_time(dig(item, mapping["starts_at"]), at("starts_at")),
        ends_at=None,
        generator_url=str(url) if isinstance(url, str) and url else None,
        raw=item,
    )
