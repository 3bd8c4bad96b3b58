"""Filling placeholders: each value goes into the command as exactly one shell-quoted word, or not at all."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from warroom.errors import InvalidInput
from warroom.runbooks.model import Param, PlaceholderRef, Step
from warroom.runbooks.parser import mask_placeholders, normalize_name
from warroom.runbooks.shell import Context, scan

SOURCES = ("given", "alert", "incident", "default")


@dataclass(frozen=True)
class Value:
    """A placeholder value and where it came from (given, alert, incident, default)."""

    value: str
    source: str


@dataclass(frozen=True)
class Fill:
    """The outcome of filling one step: the command to run, or why it cannot run."""

    command: str | None
    missing: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ready(self) -> bool:
        """True when the command can run as it is."""
        return self.command is not None and not self.missing and self.error is None


def check_value(name: str, value: str, param: Param | None = None) -> None:
    """Refuse a value with a newline or NUL, or one that does not match its param's pattern."""
    if "\n" in value or "\r" in value or "\x00" in value:
        raise InvalidInput(f"value for <{name}> must be one line without NUL characters", field=name)
    if param is not None and param.pattern is not None and re.fullmatch(param.pattern, value) is None:
        raise InvalidInput(f"value {value!r} for <{name}> does not match its pattern {param.pattern!r}", field=name)


def _lookup(source: Mapping[str, str], name: str) -> str | None:
    for key in (name, name.replace("_", "-"), name.lower()):
        if key in source:
            return str(source[key])
    return None


def resolve(
    names: Iterable[str],
    *,
    given: Mapping[str, str] | None = None,
    alert: Sequence[Mapping[str, str]] | Mapping[str, str] = (),
    incident: Mapping[str, str] | None = None,
    params: Sequence[Param] = (),
) -> dict[str, Value]:
    """Values for `names`, first found wins: given by the person, alert labels then annotations, the
    incident's fields, the param's default. Raises InvalidInput when the winning value is refused."""
    given_norm = {normalize_name(k): v for k, v in (given or {}).items()}
    alert_maps = [alert] if isinstance(alert, Mapping) else list(alert)
    declared = {normalize_name(p.name): p for p in params}
    found: dict[str, Value] = {}
    for name in names:
        param = declared.get(normalize_name(name))
        candidates: list[tuple[str | None, str]] = [(_lookup(given_norm, normalize_name(name)), "given")]
        candidates.extend((_lookup(labels, name), "alert") for labels in alert_maps)
        candidates.append((_lookup(incident or {}, name), "incident"))
        candidates.append((param.default if param else None, "default"))
        for value, source in candidates:
            if value is not None:
                check_value(name, value, param)
                found[name] = Value(value, source)
                break
    return found


def _quoted_for(context: Context, value: str) -> str | None:
    word = shlex.quote(value)
    if context in (Context.UNQUOTED, Context.COMMENT):
        return word
    if context in (Context.SINGLE, Context.DOUBLE) and word == value:
        # Only letters, digits and @%+=:,./- : literal inside either kind of quotes, so no need to
        # close and reopen them (the person reads `"logs of web"`, not `"logs of "web""`).
        return value
    if context is Context.SINGLE:
        # Close the single-quoted string, add the quoted word, reopen: still one word for bash.
        return f"'{word}'"
    if context is Context.DOUBLE:
        return f'"{word}"'
    return None


def fill_command(command: str, refs: Sequence[PlaceholderRef], values: Mapping[str, str]) -> Fill:
    """`command` with each placeholder replaced by its value as one shell-quoted word."""
    if not refs:
        return Fill(command)
    missing = tuple(dict.fromkeys(ref.name for ref in refs if ref.name not in values))
    if missing:
        return Fill(None, missing=missing)
    masked = mask_placeholders(command, list(refs))
    contexts = scan(masked, [ref.start for ref in refs]).contexts
    parts: list[str] = []
    last = 0
    for ref in refs:
        value = values[ref.name]
        try:
            check_value(ref.name, value)
        except InvalidInput as exc:
            return Fill(None, error=exc.detail)
        context = contexts.get(ref.start, Context.UNSAFE)
        quoted = _quoted_for(context, value)
        if quoted is None:
            return Fill(
                None,
                error=f"placeholder {ref.text} sits inside a heredoc, backquotes, ${{...}} or $((...)); "
                "it cannot be filled safely: move it to a plain argument",
            )
        parts.append(command[last : ref.start])
        parts.append(quoted)
        last = ref.end
    parts.append(command[last:])
    return Fill("".join(parts))


def fill_step(step: Step, values: Mapping[str, str]) -> Fill:
    """Fill a command step; manual, check and reference steps have nothing to fill."""
    if step.command is None:
        return Fill(None, error="this step has no command")
    return fill_command(step.command, step.refs, values)


def unsafe_placeholders(command: str, refs: Sequence[PlaceholderRef]) -> list[PlaceholderRef]:
    """Placeholders in a position where no value could be inserted safely (heredoc, backquotes...)."""
    if not refs:
        return []
    contexts = scan(mask_placeholders(command, list(refs)), [ref.start for ref in refs]).contexts
    return [ref for ref in refs if _quoted_for(contexts.get(ref.start, Context.UNSAFE), "x") is None]


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """`--param k=v` strings as a dict; raises InvalidInput on a missing `=`."""
    result: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--param {item!r}: expected NAME=VALUE", field="param")
        result[normalize_name(name.strip())] = value
    return result
