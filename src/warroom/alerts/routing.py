"""Routing: which route an alert takes, and what that route says (service, severity, group, policy, runbook).

Routes are tried in order. A matching route without `continue` ends the search. A matching route with
`continue: true` lends the settings it names to the alert and the search goes on: later matching routes
override what they name themselves. The alert is grouped under the last route that matched."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from warroom.alerts.config import DEFAULT_SEVERITY_MAP, RouteConfig
from warroom.alerts.matchers import Matcher, parse_matchers
from warroom.timeparse import parse_duration

DEFAULT_ROUTE = "default"
DEFAULT_GROUP_BY = ("alertname",)
DEFAULT_RESOLVE_AFTER = timedelta(minutes=5)
_MERGED_FIELDS = ("service", "severity", "policy", "category", "runbook", "auto_runbook", "group_by", "resolve_after")


@dataclass(frozen=True)
class Route:
    """A compiled route."""

    name: str
    matchers: tuple[Matcher, ...]
    continue_: bool
    config: RouteConfig
    set_fields: frozenset[str]

    @classmethod
    def of(cls, config: RouteConfig) -> Route:
        """Compile a route from its config."""
        return cls(
            name=config.name,
            matchers=tuple(parse_matchers(config.match)),
            continue_=config.continue_,
            config=config,
            set_fields=frozenset(config.model_fields_set),
        )

    def explain(self, labels: Mapping[str, str]) -> tuple[bool, list[str]]:
        """Whether the route matches and, per matcher, why."""
        reasons: list[str] = []
        ok = True
        for matcher in self.matchers:
            hit = matcher.matches(labels)
            actual = labels.get(matcher.name)
            shown = f"{matcher.name}={actual!r}" if actual is not None else f"{matcher.name} is absent"
            reasons.append(f"{matcher} {'matches' if hit else 'does not match'} ({shown})")
            ok = ok and hit
        if not self.matchers:
            reasons.append("no matchers: matches every alert")
        return ok, reasons


@dataclass(frozen=True)
class Decision:
    """What routing decided for one alert."""

    route: str
    matched: tuple[str, ...]
    service: str | None
    severity: str
    severity_reason: str
    group_by: tuple[str, ...]
    group_key: str
    policy: str | None
    category: str | None
    runbook: str | None
    auto_runbook: bool
    resolve_after: timedelta
    explanations: list[tuple[str, bool, list[str]]] = field(default_factory=list, compare=False)


class Router:
    """The compiled `routes:` of warroom.yaml."""

    def __init__(self, routes: Sequence[RouteConfig], severity_names: Sequence[str]) -> None:
        self.routes = [Route.of(r) for r in routes]
        self.severity_names = [s.upper() for s in severity_names]
        # Keys are strings and equal decisions are one object: the garbage collector has next to nothing to
        # walk here. With tuples of label pairs as keys, 20,000 entries were ~250k tracked objects, and each
        # full collection stalled the intake for 50-80 ms.
        self._cache: dict[str, Decision] = {}
        self._decisions: dict[Decision, Decision] = {}
        self._relevant = self._labels_read(routes)

    @staticmethod
    def _labels_read(routes: Sequence[RouteConfig]) -> frozenset[str] | None:
        """The label names a decision can depend on, or None when it is all of them (`group_by: [...]`).

        Alerts that differ only in other labels (an `instance`, a pod name) route the same way, so a storm of
        new alerts hits the cache instead of walking the routes once per alert."""
        names = {"service", "severity", *DEFAULT_GROUP_BY}
        for route in routes:
            group_by = route.group_by or ()
            if "..." in group_by:
                return None
            names.update(group_by)
            names.update(matcher.name for matcher in parse_matchers(route.match))
            if route.severity_label:
                names.add(route.severity_label)
        return frozenset(names)

    def decide_cached(
        self, labels: Mapping[str, str], integration_service: str | None, integration_severity: str | None
    ) -> Decision:
        """`decide`, remembered for the same labels (repeats of an alert route the same way every time)."""
        relevant = self._relevant
        read = labels.items() if relevant is None else [(k, v) for k, v in labels.items() if k in relevant]
        key = repr((sorted(read), integration_service, integration_severity))
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= 20_000:
                self._cache.clear()  # bounded; routes never change while a runtime lives
                self._decisions.clear()
            decided = self.decide(
                labels, integration_service=integration_service, integration_severity=integration_severity
            )
            found = self._decisions.setdefault(decided, decided)
            self._cache[key] = found
        return found

    def decide(
        self,
        labels: Mapping[str, str],
        *,
        integration_service: str | None = None,
        integration_severity: str | None = None,
        explain: bool = False,
    ) -> Decision:
        """Route `labels`: the merged settings of every matching route up to the first that does not continue."""
        merged: dict[str, object] = {}
        severity_map = dict(DEFAULT_SEVERITY_MAP)
        severity_label = "severity"
        matched: list[str] = []
        explanations: list[tuple[str, bool, list[str]]] = []
        stopped_by: str | None = None
        for route in self.routes:
            if stopped_by is not None:
                if not explain:
                    break
                explanations.append((route.name, False, [f"not tried: {stopped_by} matched and does not continue"]))
                continue
            ok, reasons = route.explain(labels)
            if explain:
                explanations.append((route.name, ok, reasons))
            if not ok:
                continue
            matched.append(route.name)
            for name in _MERGED_FIELDS:
                if name in route.set_fields:
                    merged[name] = getattr(route.config, name)
            severity_map.update(route.config.severity_map)
            if "severity_label" in route.set_fields:
                severity_label = route.config.severity_label
            if not route.continue_:
                stopped_by = route.name
        route_name = matched[-1] if matched else DEFAULT_ROUTE
        severity, reason = self._severity(
            labels, merged.get("severity"), severity_map, severity_label, integration_severity
        )
        raw_group_by: Sequence[str] = merged.get("group_by") or DEFAULT_GROUP_BY  # type: ignore[assignment]
        group_by = tuple(raw_group_by)
        resolve_after = merged.get("resolve_after")
        return Decision(
            route=route_name,
            matched=tuple(matched),
            service=_str(merged.get("service")) or labels.get("service") or integration_service,
            severity=severity,
            severity_reason=reason,
            group_by=group_by,
            group_key=group_key(route_name, group_by, labels),
            policy=_str(merged.get("policy")),
            category=_str(merged.get("category")),
            runbook=_str(merged.get("runbook")),
            auto_runbook=bool(merged.get("auto_runbook", False)),
            resolve_after=parse_duration(str(resolve_after)) if resolve_after else DEFAULT_RESOLVE_AFTER,
            explanations=explanations,
        )

    def _severity(
        self,
        labels: Mapping[str, str],
        fixed: object,
        severity_map: dict[str, str],
        severity_label: str,
        integration_severity: str | None,
    ) -> tuple[str, str]:
        if isinstance(fixed, str) and fixed.upper() in self.severity_names:
            return fixed.upper(), "fixed by the route"
        sent = labels.get(severity_label, "").strip()
        if sent:
            if sent.upper() in self.severity_names:
                return sent.upper(), f"{severity_label}={sent}"
            mapped = severity_map.get(sent.lower())
            if mapped and mapped in self.severity_names:
                return mapped, f"{severity_label}={sent} maps to {mapped}"
        if integration_severity and integration_severity.upper() in self.severity_names:
            return integration_severity.upper(), "the integration's default"
        fallback = "P3" if "P3" in self.severity_names else self.severity_names[len(self.severity_names) // 2]
        return fallback, f"no known {severity_label} label: default {fallback}"


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def group_key(route: str, group_by: Sequence[str], labels: Mapping[str, str]) -> str:
    """`route|k=v,...` for the group-by labels (`...` groups by every label); long keys are hashed."""
    names = sorted(labels) if "..." in group_by else sorted(set(group_by))
    key = f"{route}|" + ",".join(f"{name}={labels.get(name, '')}" for name in names)
    if len(key) > 250:
        digest = hashlib.sha256(key.encode()).hexdigest()
        key = f"{route[:100]}|sha256:{digest}"
    return key


def fingerprint_of(labels: Mapping[str, str]) -> str:
    """A stable fingerprint from the sorted labels (the same labels always give the same value)."""
    text = "\x1f".join(f"{k}\x1e{labels[k]}" for k in sorted(labels))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
