"""Filling placeholders: a value that passes its pattern goes in as one shell-quoted word where bash reads it
once, and nowhere else."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from warroom.errors import InvalidInput
from warroom.runbooks.blocktext import mask_placeholders, normalize_name
from warroom.runbooks.model import Param, PlaceholderRef, Step
from warroom.runbooks.rereads import reread
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


# What a value may look like when its param declares no pattern: nothing any shell, `(( ))` or option parser
# reads as more than a word (no quote, `$`, backquote, space, `;`, `[`, glob...), and no leading `-`.
DEFAULT_PATTERN = r"[A-Za-z0-9._:/@%+=,][A-Za-z0-9._:/@%+=,-]*"
_DEFAULT = re.compile(DEFAULT_PATTERN)


def _shown(value: str) -> str:
    # Enough of the value to recognise it on the timeline; a long label is not copied whole into messages.
    return repr(value if len(value) <= 40 else value[:40] + "...")


def _check_line(name: str, value: str) -> None:
    """The rules no pattern can lift: one line, no NUL, and no leading `-` (it would be read as an option)."""
    if "\n" in value or "\r" in value or "\x00" in value:
        raise InvalidInput(f"value for <{name}> must be one line without NUL characters", field=name)
    if value.startswith("-"):
        raise InvalidInput(
            f"value {_shown(value)} for <{name}> starts with '-': a command would read it as an option", field=name
        )


def check_value(name: str, value: str, param: Param | None = None) -> None:
    """Refuse a value from outside (an alert, an incident field, a request) unless it is one line, does not start
    with `-`, and matches its param's pattern or, when the runbook declares none, DEFAULT_PATTERN."""
    _check_line(name, value)
    if param is not None and param.pattern is not None:
        if re.fullmatch(param.pattern, value) is None:
            raise InvalidInput(
                f"value {_shown(value)} for <{name}> does not match its pattern {param.pattern!r}", field=name
            )
        return
    if _DEFAULT.fullmatch(value) is None:
        raise InvalidInput(
            f"value {_shown(value)} for <{name}> may hold only letters, digits and ._:/@%+=,- "
            "(the rule for a placeholder whose param declares no pattern)",
            field=name,
        )


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
                if source != "default":  # a default is written in the runbook file, not sent from outside
                    check_value(name, value, param)
                found[name] = Value(value, source)
                break
    return found


def _quoted_for(context: Context, value: str) -> str | None:
    word = shlex.quote(value)
    if context in (Context.UNQUOTED, Context.COMMENT):
        return word
    if context is Context.HEREDOC:
        # Literal in a heredoc body whatever the delimiter's quoting; anything else could expand there.
        return value if _DEFAULT.fullmatch(value) else None
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
    problems = unsafe_reasons(command, refs)
    if problems:
        return Fill(None, error="; ".join(problems))
    masked = mask_placeholders(command, list(refs))
    contexts = scan(masked, [ref.start for ref in refs]).contexts
    parts: list[str] = []
    last = 0
    for ref in refs:
        value = values[ref.name]
        try:
            _check_line(ref.name, value)
        except InvalidInput as exc:
            return Fill(None, error=exc.detail)
        quoted = _quoted_for(contexts.get(ref.start, Context.UNSAFE), value)
        if quoted is None:
            return Fill(
                None,
                error=f"value {_shown(value)} for {ref.text} cannot go into a heredoc: "
                "only letters, digits and ._:/@%+=,- can",
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


def unsafe_reasons(command: str, refs: Sequence[PlaceholderRef]) -> list[str]:
    """Why placeholders of `command` can never be filled safely: one sentence per placeholder that sits where
    quoting cannot protect it (arithmetic, eval, a `-c` string, an ssh remote command, xargs, source, the
    command name, backquotes, `${...}`). Empty when every placeholder is in a plain position."""
    if not refs:
        return []
    masked = mask_placeholders(command, list(refs))
    probes = [ref.start for ref in refs]
    contexts = scan(masked, probes).contexts
    again = reread(masked, probes)
    out: list[str] = []
    for ref in refs:
        reason = again.get(ref.start)
        if reason is None and _quoted_for(contexts.get(ref.start, Context.UNSAFE), "x") is None:
            reason = "backquotes, ${...} or $'...'"
        if reason is not None:
            out.append(f"placeholder {ref.text} sits in {reason}, where bash reads a value again as code")
    return list(dict.fromkeys(out))


def unsafe_placeholders(command: str, refs: Sequence[PlaceholderRef]) -> list[PlaceholderRef]:
    """Placeholders in a position where no value could be inserted safely (see `unsafe_reasons`)."""
    if not refs:
        return []
    masked = mask_placeholders(command, list(refs))
    probes = [ref.start for ref in refs]
    contexts = scan(masked, probes).contexts
    again = reread(masked, probes)
    return [
        ref for ref in refs if ref.start in again or _quoted_for(contexts.get(ref.start, Context.UNSAFE), "x") is None
    ]


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """`--param k=v` strings as a dict; raises InvalidInput on a missing `=`."""
    result: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--param {item!r}: expected NAME=VALUE", field="param")
        result[normalize_name(name.strip())] = value
    return result
