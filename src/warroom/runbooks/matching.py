"""Which runbooks fit an incident, best first, each with the reason it was chosen."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from warroom.alerts import matchers
from warroom.errors import InvalidInput
from warroom.runbooks.model import Runbook

# Tiers keep the promised order: an explicit `match`/`services` hit beats the route's hint, which beats
# any amount of text similarity (worth at most 1.0).
_MATCH_SCORE = 100.0
_SERVICE_SCORE = 100.0
_HINT_SCORE = 10.0
_MIN_SIMILARITY = 0.05

_STOPWORDS = frozenset(
    re.findall(
        r"\S+",
        "a an and are as at be by check for from how in incident is it of on or runbook the to with when "
        "what issue issues down high low not no",
    )
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Lower-case words of `text` with camelCase split (`DiskFull` -> disk, full) and stopwords removed."""
    words = _WORD.findall(_CAMEL.sub(" ", text).lower())
    return [w for w in words if len(w) > 1 and w not in _STOPWORDS]


@dataclass
class IncidentContext:
    """What matching knows about an incident."""

    title: str = ""
    services: Sequence[str] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    hint: str | None = None


@dataclass(frozen=True)
class Match:
    """A runbook that fits, its score, and why."""

    runbook: Runbook
    score: float
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        """The reasons as one line."""
        return "; ".join(self.reasons)


def _document(runbook: Runbook) -> list[str]:
    parts = [runbook.title, *runbook.services, *runbook.symptoms]
    parts.extend(section.title for section in runbook.sections)
    return tokens(" ".join(parts))


def _query(incident: IncidentContext) -> list[str]:
    parts = [incident.title, *incident.services]
    for key in ("alertname", "service", "job", "summary", "description", "title"):
        for source in (incident.labels, incident.annotations):
            if key in source:
                parts.append(str(source[key]))
    parts.extend(str(v) for k, v in incident.labels.items() if k not in ("alertname", "service", "job"))
    return tokens(" ".join(parts))


def _vector(words: Iterable[str], idf: Mapping[str, float]) -> dict[str, float]:
    counts = Counter(words)
    return {w: (1 + math.log(c)) * idf.get(w, 0.0) for w, c in counts.items() if idf.get(w, 0.0) > 0}


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[float, list[str]]:
    shared = [w for w in a if w in b]
    if not shared:
        return 0.0, []
    dot = sum(a[w] * b[w] for w in shared)
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    shared.sort(key=lambda w: -a[w] * b[w])
    return (dot / norm if norm else 0.0), shared


def _hinted(runbook: Runbook, hint: str) -> bool:
    if runbook.id == hint:
        return True
    if runbook.path is None:
        return False
    hinted = Path(hint)
    return runbook.path.name == hinted.name or runbook.path.stem == hint


def rank(runbooks: Sequence[Runbook], incident: IncidentContext, *, limit: int | None = None) -> list[Match]:
    """Runbooks that fit `incident`, best first: `match`/`services`, the route hint, then similar text."""
    documents = [_document(runbook) for runbook in runbooks]
    frequency: Counter[str] = Counter()
    for words in documents:
        frequency.update(set(words))
    total = len(runbooks)
    idf = {w: math.log((1 + total) / (1 + df)) + 1.0 for w, df in frequency.items()}
    query = _vector(_query(incident), idf)
    labels = {**incident.annotations, **incident.labels}
    wanted_services = {s.lower() for s in incident.services}
    if "service" in incident.labels:
        wanted_services.add(str(incident.labels["service"]).lower())
    results: list[Match] = []
    for runbook, words in zip(runbooks, documents, strict=True):
        score = 0.0
        reasons: list[str] = []
        if runbook.front.match:
            try:
                parsed = matchers.parse_matchers(runbook.front.match)
            except InvalidInput:
                parsed = []
            if parsed and matchers.matches_all(parsed, labels):
                score += _MATCH_SCORE
                reasons.append("labels match " + ", ".join(str(m) for m in parsed))
        services = sorted(wanted_services & {s.lower() for s in runbook.services})
        if services:
            score += _SERVICE_SCORE
            reasons.append("for service " + ", ".join(services))
        if incident.hint and _hinted(runbook, incident.hint):
            score += _HINT_SCORE
            reasons.append(f"the route suggests runbook {incident.hint!r}")
        similarity, shared = _cosine(query, _vector(words, idf))
        if similarity >= _MIN_SIMILARITY:
            score += similarity
            reasons.append(f"similar text ({similarity:.2f}): {', '.join(shared[:5])}")
        if score > 0:
            results.append(Match(runbook, round(score, 4), tuple(reasons)))
    results.sort(key=lambda m: (-m.score, m.runbook.id))
    return results[:limit] if limit is not None else results
