"""Label matchers with Alertmanager's semantics: `name=value`, `!=`, `=~`, `!~`, regexes fully anchored.

A label that is missing compares as the empty string, so `env!="prod"` matches an alert without `env`
and `env=~".*"` matches everything. Used by runbook matching and by alert routing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from warroom.errors import InvalidInput


class Op(StrEnum):
    """A matcher's comparison."""

    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


_NAME = r"[A-Za-z_][A-Za-z0-9_.]*"
_MATCHER = re.compile(
    rf"""\s*(?P<name>{_NAME}|"(?:[^"\\]|\\.)*")\s*(?P<op>=~|!~|!=|=)\s*
    (?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|(?:[^,}}"'][^,}}]*?)?)\s*(?:,|$)""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        body = text[1:-1]
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)
    return text


@dataclass(frozen=True)
class Matcher:
    """One comparison of a label against a value or an anchored regex."""

    name: str
    op: Op
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def create(cls, name: str, op: Op | str, value: str) -> Matcher:
        """A matcher; raises InvalidInput when a regex does not compile."""
        op = Op(op)
        regex = None
        if op in (Op.RE, Op.NRE):
            try:
                # Alertmanager anchors every regex at both ends: `stag.*` does not match `prestaging`.
                regex = re.compile(f"^(?:{value})$", re.DOTALL)
            except re.error as exc:
                raise InvalidInput(f"invalid regex {value!r} for label {name!r}: {exc}", field="match") from exc
        return cls(name, op, value, regex)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether `labels` satisfy this matcher; a missing label is the empty string."""
        actual = labels.get(self.name, "")
        if self.op is Op.EQ:
            return actual == self.value
        if self.op is Op.NE:
            return actual != self.value
        assert self._regex is not None
        found = self._regex.match(actual) is not None
        return found if self.op is Op.RE else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op.value}"{escaped}"'


def parse(text: str) -> list[Matcher]:
    """Matchers from `alertname=DiskFull`, `env=~"stag.*"` or `{a="b", c!~"d|e"}`; raises InvalidInput."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1].strip()
    if not body:
        return []
    result: list[Matcher] = []
    pos = 0
    while pos < len(body):
        m = _MATCHER.match(body, pos)
        if not m or m.end() == pos:
            raise InvalidInput(
                f"cannot read matcher {body[pos:]!r}: expected name=value, name!=value, name=~regex or name!~regex",
                field="match",
            )
        name = _unquote(m.group("name"))
        result.append(Matcher.create(name, m.group("op"), _unquote(m.group("value").strip())))
        pos = m.end()
    return result


def parse_all(texts: Iterable[str]) -> list[Matcher]:
    """All matchers from several strings (each may hold one or a comma-separated list)."""
    found: list[Matcher] = []
    for text in texts:
        found.extend(parse(text))
    return found


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches `labels` (an empty list matches everything)."""
    return all(matcher.matches(labels) for matcher in matchers)
