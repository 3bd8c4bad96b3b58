"""Alertmanager's webhook payload, version 4."""

from __future__ import annotations

from typing import Any

from warroom.alerts.formats import FormatError, parse_time, require_object, string_map
from warroom.alerts.schemas import IncomingAlert

SUPPORTED_VERSIONS = ("4",)


def parse(body: Any, _config: dict[str, Any]) -> list[IncomingAlert]:
    """The alerts of an Alertmanager webhook (version 4); each alert's own status wins over the group's."""
    payload = require_object(body)
    version = payload.get("version")
    if version is not None and str(version) not in SUPPORTED_VERSIONS:
        raise FormatError(
            "version",
            f"unsupported Alertmanager webhook version {version!r}: warroom accepts version "
            f"{', '.join(SUPPORTED_VERSIONS)}",
            reason="unsupported_version",
        )
    return parse_alerts(payload)


def parse_alerts(
    payload: dict[str, Any], *, missing_hint: str = "", extra_annotations: tuple[str, ...] = ()
) -> list[IncomingAlert]:
    """The `alerts[]` of an Alertmanager-shaped payload (Grafana's webhook has the same shape).

    `extra_annotations` names item fields kept as annotations (Grafana's dashboard and panel links)."""
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise FormatError("alerts", f"expected a list of alerts{missing_hint}")
    group_status = payload.get("status", "firing")
    out: list[IncomingAlert] = []
    for index, item in enumerate(alerts):
        where = f"alerts.{index}"
        if not isinstance(item, dict):
            raise FormatError(where, "expected an object")
        status = item.get("status", group_status)
        if status not in ("firing", "resolved"):
            raise FormatError(f"{where}.status", f"expected firing or resolved, got {status!r}")
        labels = string_map(item.get("labels"), f"{where}.labels")
        if not labels:
            raise FormatError(f"{where}.labels", "an alert needs at least one label")
        annotations = string_map(item.get("annotations"), f"{where}.annotations")
        for key in extra_annotations:
            value = item.get(key)
            if isinstance(value, str) and value:
                annotations.setdefault(key, value)
        fingerprint = item.get("fingerprint")
        if fingerprint is not None and not isinstance(fingerprint, str):
            raise FormatError(f"{where}.fingerprint", "expected a string")
        url = item.get("generatorURL")
        out.append(
            IncomingAlert(
                fingerprint=fingerprint or None,
                status=status,
                labels=labels,
                annotations=annotations,
                starts_at=parse_time(item.get("startsAt"), f"{where}.startsAt"),
                ends_at=parse_time(item.get("endsAt"), f"{where}.endsAt"),
                generator_url=url if isinstance(url, str) and url else None,
                raw=item,
            )
        )
    return out
