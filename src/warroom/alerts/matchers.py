"""Label matchers with Alertmanager's semantics: `=`, `!=`, `=~`, `!~`, anchored regexes, missing label = ""."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from warroom.errors import InvalidInput

OPERATORS = ("=~", "!~", "!=", "=")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


@dataclass(frozen=True)
class Matcher:
    """One condition on one label, e.g. `env=~"stag.*"`."""

    name: str
    op: str
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def create(cls, name: str, op: str, value: str) -> Matcher:
        """A matcher; regexes are compiled once and fully anchored (like Alertmanager)."""
        if op not in OPERATORS:
            raise InvalidInput(f"Unknown matcher operator {op!r}: use =, !=, =~ or !~.", field="match")
        regex = None
        if op in ("=~", "!~"):
            try:
                regex = re.compile(f"^(?:{value})$")
            except re.error as exc:
                raise InvalidInput(f"Invalid regular expression {value!r} for {name}: {exc}.", field="match") from None
        return cls(name, op, value, regex)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when `labels` satisfy this matcher (a missing label counts as the empty string)."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._regex is not None
        found = self._regex.match(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def parse_matcher(text: str) -> Matcher:
    """Parse `name<op>value` where value may be double-quoted: `env=~"stag.*"`, `alertname=DiskFull`."""
    raw = text.strip()
    match = _NAME.match(raw)
    if match is None:
        raise InvalidInput(
            f"Invalid matcher {text!r}: expected name=value, name!=value, name=~regex or name!~regex.", field="match"
        )
    name = match.group(0)
    rest = raw[match.end() :].lstrip()
    op = next((candidate for candidate in OPERATORS if rest.startswith(candidate)), None)
    if op is None:
        raise InvalidInput(f"Invalid matcher {text!r}: after the label name comes one of =, !=, =~, !~.", field="match")
    value = rest[len(op) :].strip()
    if value[:1] in ("'", '"') and (len(value) < 2 or value[-1] != value[0] or value.endswith("\\" + value[0])):
        raise InvalidInput(f"Invalid matcher {text!r}: the quoted value is not closed.", field="match")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in ("'", '"'):
        quote = value[0]
        inner = value[1:-1]
        value = inner.replace("\\" + quote, quote).replace("\\\\", "\\") if quote == '"' else inner
    return Matcher.create(name, op, value)


def parse_matchers(texts: Iterable[str]) -> list[Matcher]:
    """Parse many matchers; a single string may hold several separated by commas outside quotes."""
    out: list[Matcher] = []
    for text in texts:
        for part in split_outside_quotes(text):
            if part.strip():
                out.append(parse_matcher(part))
    return out


def split_outside_quotes(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` where it is not inside double quotes (`a="x,y",b=c` → two parts)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in text.strip().strip("{}"):
        if escaped:
            current.append(char)
            escaped = False
            continue
        if char == "\\":
            current.append(char)
            escaped = True
            continue
        if char == '"':
            quoted = not quoted
        if char == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches (an empty list matches everything)."""
    return all(m.matches(labels) for m in matchers)
