"""Recognising commands that destroy, stop or overwrite things: they always need a person to confirm."""

from __future__ import annotations

import re

# (reason shown to the person, a word the command must contain, pattern). Patterns look at the command text
# as written. The word is a necessary condition, checked in the lowercased command (`_fold`) before the
# pattern: a command that passes `_ANY` then runs the one or two patterns it may match, not all sixteen.
_COMMAND_PATTERNS: list[tuple[str, str, re.Pattern[str]]] = [
    (
        "rm -rf",
        "rm",
        re.compile(
            r"\brm\s+(?:-\S*\s+)*-(?:[a-zA-Z]*[rR][a-zA-Z]*f|[a-zA-Z]*f[a-zA-Z]*[rR])\b|\brm\s+.*(?:--recursive|-r\b).*(?:--force|-f\b)"
        ),
    ),
    ("redis FLUSHDB/FLUSHALL", "flush", re.compile(r"\bflush(?:db|all)\b", re.IGNORECASE)),
    (
        "SQL DROP",
        "drop",
        re.compile(r"\bdrop\s+(?:table|database|schema|index|view|user|role|column|materialized)\b", re.IGNORECASE),
    ),
    ("SQL TRUNCATE", "truncate", re.compile(r"\btruncate\s+(?:table\s+)?[A-Za-z_\"`]", re.IGNORECASE)),
    ("pg_terminate_backend", "pg_terminate_backend", re.compile(r"\bpg_terminate_backend\b")),
    (
        "docker system prune",
        "prune",
        re.compile(r"\bdocker\s+(?:system|volume|image|container|network|builder)\s+prune\b"),
    ),
    (
        "docker compose down",
        "down",
        re.compile(r"\bdocker(?:\s+compose|-compose)\s+(?:-\S+\s+(?:\S+\s+)?)*down\b"),
    ),
    ("kubectl delete", "kubectl", re.compile(r"\bkubectl\s+(?:.*\s)?delete\b")),
    (
        "systemctl stop/restart",
        "systemctl",
        re.compile(r"\bsystemctl\s+(?:-\S+\s+)*(?:stop|restart|kill|disable|mask)\b"),
    ),
    (
        "git revert/reset --hard/push",
        "git",
        re.compile(r"\bgit\s+(?:-\S+\s+)*(?:revert\b|reset\s+(?:.*\s)?--hard\b|push\b)"),
    ),
    (
        "truncate -s 0",
        "truncate",
        re.compile(r"\btruncate\s+(?:-\S+\s+)*-s\s*0\b|\btruncate\s+--size[= ]0\b"),
    ),
    ("--force", "--force", re.compile(r"(?<![\w-])--force(?:[-=][\w-]*)?\b")),
    ("--delete", "--delete", re.compile(r"(?<![\w-])--delete\b")),
    ("mkfs", "mkfs", re.compile(r"\bmkfs(?:\.\w+)?\b")),
    ("dd of=", "of=", re.compile(r"\bdd\b.*\bof=")),
    ("iptables", "tables", re.compile(r"\bip6?tables\b")),
]
# One cheap search of the lowercased command first: most commands contain none of these words and skip the
# patterns. (Searching the command itself with IGNORECASE costs six times as much.)
_ANY = re.compile(r"rm|flush|drop|truncate|delete|pg_terminate|prune|down|kubectl|systemctl|git|--force|mkfs|dd|tables")
_DELETE_FROM = re.compile(r"\bdelete\s+from\s+[^;]*", re.IGNORECASE)
_WHERE = re.compile(r"\bwhere\b", re.IGNORECASE)

# Words in the text around a step that mean the author thinks it is dangerous.
_TEXT_PATTERN = re.compile(
    r"\b(?:CAUTION|WARNING|DANGER)\b|(?i:\b(?:caution|warning|danger)\s*[:!)]|\bdangerous\b|\blast resort\b"
    r"|\bdestructive\b|\birreversible\b|\bcannot be undone\b)"
)
# One of these is in the lowercased text whenever _TEXT_PATTERN matches it.
_TEXT_WORDS = ("caution", "warning", "danger", "last resort", "destructive", "irreversible", "cannot be undone")

# The only characters outside ASCII that match an ASCII letter when case is ignored (checked exhaustively
# against `re`): folded first, they keep the lowercased text a safe pre-check for IGNORECASE patterns.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def _fold(text: str) -> str:
    """`text` lowercased, such that a pattern's literal word matching it (case ignored) is a substring."""
    return text.lower() if text.isascii() else text.translate(_FOLD).lower()


def command_dangers(command: str) -> list[str]:
    """The reasons `command` is dangerous by its own text; empty when none is known."""
    folded = _fold(command)
    if not _ANY.search(folded):
        return []
    reasons = [reason for reason, word, pattern in _COMMAND_PATTERNS if word in folded and pattern.search(command)]
    if "delete" in folded:
        for statement in _DELETE_FROM.findall(command):
            if not _WHERE.search(statement):
                reasons.append("SQL DELETE without WHERE")
                break
    return reasons


def text_dangers(text: str) -> list[str]:
    """The warning words in the prose near a step (`CAUTION`, `last resort`...), as reasons."""
    folded = _fold(text)
    for word in _TEXT_WORDS:  # a loop, not any(): this runs for every command step
        if word in folded:
            match = _TEXT_PATTERN.search(text)
            return [f"marked {match.group(0).strip(' :!)')!r}"] if match else []
    return []
