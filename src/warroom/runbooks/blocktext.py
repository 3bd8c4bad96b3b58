"""Reading the text of a code block: its info string's language and step options, its placeholders, and whether
its lines are commands or prose."""

from __future__ import annotations

import re
from collections.abc import Iterable

from warroom.runbooks.model import PlaceholderRef, Step, StepOptions
from warroom.timeparse import parse_duration

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console", "zsh", "shell-session", "shellsession", "ksh"})

_PROSE_LINE = re.compile(r"^[A-Za-z][\w/-]*:\s")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Word lists as text: easier to read and extend than a column of quoted strings.
_HTML_TAGS = _wordset(
    "a abbr b br code dd del details div dl dt em h1 h2 h3 h4 h5 h6 hr i img input ins kbd li ol p pre "
    "q s samp small span strong sub summary sup table tbody td th thead tr u ul html head body script style"
)
_ANGLE = re.compile(r"(?<![<\w])<([a-z][a-z0-9_-]*)>")
_MUSTACHE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")
_DOLLAR_BRACE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KNOWN_COMMANDS = _wordset(
    """
    apt apt-get awk aws az bash brew cat cd certbot chmod chown cp crontab curl cut date dd df dig docker
    docker-compose du echo env export find free gcloud git grep gunzip gzip head helm host htop iostat ip
    iptables journalctl jq kafka-topics kill killall kubectl less ln ls lsof make mkdir mongo mongosh mtr mv
    mysql nc netstat nginx nohup node npm npx nslookup openssl pgrep pg_dump pg_isready ping pip pkill pm2
    printf ps psql python python3 redis-cli rm rsync sar scp sed service set sleep sort sqlite3 ss ssh strace
    sudo systemctl tail tar tcpdump tee telnet terraform top touch traceroute truncate uniq uptime vim vmstat
    watch wc wget which xargs yarn yum zcat
    """
)
_BOX_DRAWING = re.compile(r"[\u2500-\u257f]|â”")
_BRACE = re.compile(r"\{([^}]*)\}")
_OPTION_SEPARATORS = re.compile(r"[\s,]+")
_ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
# The options of a step whose fence has none, or that is no command: Step's own default, one shared instance.
NO_OPTIONS: StepOptions = Step.options


def normalize_name(name: str) -> str:
    """The canonical form of a placeholder or param name: `service-name` and `service_name` are one."""
    return name.replace("-", "_")


def find_placeholders(text: str, declared: Iterable[str] = ()) -> list[PlaceholderRef]:
    """Placeholders in `text`: `<name>`, `{{ name }}`, and `${NAME}` when NAME is a declared param."""
    declared_set = set(declared)
    refs: list[PlaceholderRef] = []
    if "<" in text:
        for m in _ANGLE.finditer(text):
            if m.group(1) not in _HTML_TAGS:
                refs.append(PlaceholderRef(normalize_name(m.group(1)), m.group(0), m.start(), m.end()))
    if "{{" in text:
        for m in _MUSTACHE.finditer(text):
            refs.append(PlaceholderRef(normalize_name(m.group(1)), m.group(0), m.start(), m.end()))
    if declared_set and "${" in text:
        for m in _DOLLAR_BRACE.finditer(text):
            if m.group(1) in declared_set:
                refs.append(PlaceholderRef(m.group(1), m.group(0), m.start(), m.end()))
    refs.sort(key=lambda ref: ref.start)
    return refs


def mask_placeholders(text: str, refs: list[PlaceholderRef]) -> str:
    """`text` with each placeholder replaced by plain letters of the same length, for the shell scanner."""
    if not refs:
        return text
    parts: list[str] = []
    last = 0
    for ref in refs:
        parts.append(text[last : ref.start])
        parts.append("x" * (ref.end - ref.start))
        last = ref.end
    parts.append(text[last:])
    return "".join(parts)


def looks_like_commands(text: str) -> bool:
    """True when most lines of an untagged block start with a known command, a path or a `$ ` prompt."""
    if _BOX_DRAWING.search(text):
        return False
    total = hits = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        total += 1
        if line.startswith("$ "):
            hits += 1
            continue
        words = line.split()
        while words and (words[0] == "sudo" or _ENV_ASSIGNMENT.match(words[0])):
            words = words[1:]
        if words and (words[0] in _KNOWN_COMMANDS or words[0].startswith(("./", "/", "~/"))):
            hits += 1
    return hits > 0 and hits >= 0.6 * total


def is_prose_block(text: str) -> bool:
    """True when every line (but comments) reads `Word: ...` and the lines do not look like commands."""
    seen = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not _PROSE_LINE.match(line):
            return False  # the first command line decides, usually the first line
        seen = True
    return seen and not looks_like_commands(text)


def parse_info(info: str) -> tuple[str, StepOptions, list[str]]:
    """The language, the step options and any complaints from a fence info string."""
    info = info.strip()
    lang = info.split(maxsplit=1)[0] if info else ""
    if "{" in lang:
        lang = lang.split("{", 1)[0]
    complaints: list[str] = []
    brace = _BRACE.search(info) if "{" in info else None
    timeout: float | None = None
    flags = {"confirm": False, "auto": False, "verify": False}
    if brace:
        for word in _OPTION_SEPARATORS.split(brace.group(1).strip()):
            if not word or word.startswith((".", "#")):
                continue
            key, has_value, value = word.partition("=")
            value = value.strip("\"'")
            if key == "timeout":
                try:
                    seconds = parse_duration(value).total_seconds()
                except ValueError as exc:
                    complaints.append(f"step option timeout: {exc}")
                    continue
                if seconds <= 0:
                    complaints.append("step option timeout must be positive")
                    continue
                timeout = seconds
            elif key in flags:
                if has_value and value.lower() not in ("true", "false", "yes", "no", "1", "0"):
                    complaints.append(f"step option {key}={value!r}: expected true or false")
                    continue
                flags[key] = not has_value or value.lower() in ("true", "yes", "1")
            else:
                complaints.append(f"unknown step option {key!r}: expected timeout=N, confirm, auto or verify")
    if timeout is None and not any(flags.values()):
        return lang, NO_OPTIONS, complaints  # most fences: one shared frozen instance, one object less each
    options = StepOptions(timeout=timeout, confirm=flags["confirm"], auto=flags["auto"], verify=flags["verify"])
    return lang, options, complaints
