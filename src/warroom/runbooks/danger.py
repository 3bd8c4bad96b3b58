"""Recognising commands that destroy, stop or overwrite things: they always need a person to confirm."""

from __future__ import annotations

import re

# (reason shown to the person, pattern). Patterns look at the command text as written.
_COMMAND_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "rm -rf",
        re.compile(
            r"\brm\s+(?:-\S*\s+)*-(?:[a-zA-Z]*[rR][a-zA-Z]*f|[a-zA-Z]*f[a-zA-Z]*[rR])\b|\brm\s+.*(?:--recursive|-r\b).*(?:--force|-f\b)"
        ),
    ),
    ("redis FLUSHDB/FLUSHALL", re.compile(r"\bflush(?:db|all)\b", re.IGNORECASE)),
    (
        "SQL DROP",
        re.compile(r"\bdrop\s+(?:table|database|schema|index|view|user|role|column|materialized)\b", re.IGNORECASE),
    ),
    ("SQL TRUNCATE", re.compile(r"\btruncate\s+(?:table\s+)?[A-Za-z_\"`]", re.IGNORECASE)),
    ("pg_terminate_backend", re.compile(r"\bpg_terminate_backend\b")),
    (
        "docker system prune",
        re.compile(r"\bdocker\s+(?:system|volume|image|container|network|builder)\s+prune\b"),
    ),
    ("docker compose down", re.compile(r"\bdocker(?:\s+compose|-compose)\s+(?:-\S+\s+(?:\S+\s+)?)*down\b")),
    ("kubectl delete", re.compile(r"\bkubectl\s+(?:.*\s)?delete\b")),
    ("systemctl stop/restart", re.compile(r"\bsystemctl\s+(?:-\S+\s+)*(?:stop|restart|kill|disable|mask)\b")),
    (
        "git revert/reset --hard/push",
        re.compile(r"\bgit\s+(?:-\S+\s+)*(?:revert\b|reset\s+(?:.*\s)?--hard\b|push\b)"),
    ),
    ("truncate -s 0", re.compile(r"\btruncate\s+(?:-\S+\s+)*-s\s*0\b|\btruncate\s+--size[= ]0\b")),
    ("--force", re.compile(r"(?<![\w-])--force(?:[-=][\w-]*)?\b")),
    ("--delete", re.compile(r"(?<![\w-])--delete\b")),
    ("mkfs", re.compile(r"\bmkfs(?:\.\w+)?\b")),
    ("dd of=", re.compile(r"\bdd\b.*\bof=")),
    ("iptables", re.compile(r"\bip6?tables\b")),
]

# One cheap search first: most commands contain none of these words and skip the patterns below.
_ANY = re.compile(
    r"rm|flush|drop|truncate|delete|pg_terminate|prune|down|kubectl|systemctl|git|--force|mkfs|dd|ip6?tables",
    re.IGNORECASE,
)
_DELETE_FROM = re.compile(r"\bdelete\s+from\s+[^;]*", re.IGNORECASE)
_WHERE = re.compile(r"\bwhere\b", re.IGNORECASE)

# Words in the text around a step that mean the author thinks it is dangerous.
_TEXT_PATTERN = re.compile(
    r"\b(?:CAUTION|WARNING|DANGER)\b|(?i:\b(?:caution|warning|danger)\s*[:!)]|\bdangerous\b|\blast resort\b"
    r"|\bdestructive\b|\birreversible\b|\bcannot be undone\b)"
)


def command_dangers(command: str) -> list[str]:
    """The reasons `command` is dangerous by its own text; empty when none is known."""
    if not _ANY.search(command):
        return []
    reasons = [reason for reason, pattern in _COMMAND_PATTERNS if pattern.search(command)]
    for statement in _DELETE_FROM.findall(command):
        if not _WHERE.search(statement):
            reasons.append("SQL DELETE without WHERE")
            break
    return reasons


def text_dangers(text: str) -> list[str]:
    """The warning words in the prose near a step (`CAUTION`, `last resort`...), as reasons."""
    return [f"marked {m.group(0).strip(' :!)')!r}" for m in _TEXT_PATTERN.finditer(text)][:1]
