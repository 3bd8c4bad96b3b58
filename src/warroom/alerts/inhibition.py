"""Inhibition: while an alert matching `source` fires, alerts matching `target` with equal `equal` labels wait."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from warroom.alerts.config import InhibitRuleConfig
from warroom.alerts.matchers import Matcher, matches_all, parse_matchers


@dataclass(frozen=True)
class InhibitRule:
    """A compiled inhibition rule."""

    name: str
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    @classmethod
    def of(cls, index: int, config: InhibitRuleConfig) -> InhibitRule:
        """Compile a rule from warroom.yaml."""
        return cls(
            name=config.name or f"rule-{index + 1}",
            source=tuple(parse_matchers(config.source)),
            target=tuple(parse_matchers(config.target)),
            equal=tuple(config.equal),
        )

    def is_source(self, labels: Mapping[str, str]) -> bool:
        """True when an alert with `labels` can inhibit others."""
        return matches_all(self.source, labels)

    def inhibits(self, target: Mapping[str, str], source: Mapping[str, str]) -> bool:
        """True when `source` (firing) inhibits `target` under this rule."""
        if not matches_all(self.target, target) or not matches_all(self.source, source):
            return False
        # An alert that matches both sides does not inhibit itself (Alertmanager's rule).
        if matches_all(self.source, target) and source == target:
            return False
        return all(target.get(name, "") == source.get(name, "") for name in self.equal)


def compile_rules(configs: Sequence[InhibitRuleConfig]) -> list[InhibitRule]:
    """Compile every rule of `inhibit:`."""
    return [InhibitRule.of(i, c) for i, c in enumerate(configs)]


def inhibiting_rule(
    rules: Sequence[InhibitRule], target: Mapping[str, str], firing: Iterable[Mapping[str, str]]
) -> str | None:
    """The name of the first rule under which one of the `firing` alerts inhibits `target`, or None."""
    candidates = [r for r in rules if matches_all(r.target, target)]
    if not candidates:
        return None
    sources = list(firing)
    for rule in candidates:
        if any(rule.inhibits(target, source) for source in sources):
            return rule.name
    return None
