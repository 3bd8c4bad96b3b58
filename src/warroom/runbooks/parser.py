"""Reading a Markdown runbook into front matter, sections and steps. Never raises: problems are listed."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from itertools import accumulate
from operator import add
from pathlib import Path
from types import FunctionType, MappingProxyType
from typing import Any, Literal, cast

import yaml
from markdown_it import MarkdownIt
from markdown_it.parser_block import ParserBlock
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType
from mdit_py_plugins.front_matter import front_matter_plugin

from warroom.alerts import matchers
from warroom.errors import InvalidInput
from warroom.runbooks.danger import command_dangers, text_dangers
from warroom.runbooks.headings import clean_heading, role_of
from warroom.runbooks.model import (
    FrontMatter,
    Level,
    Param,
    PlaceholderRef,
    Problem,
    Role,
    Runbook,
    Section,
    Step,
    StepKind,
    StepOptions,
)
from warroom.runbooks.shell import scan
from warroom.timeparse import parse_duration

# Which first character (after indentation) each block rule needs: each of these rules returns False, without
# touching the state, for a line starting with anything else. A rule not listed here is always tried.
_RULE_FIRST_CHARS: dict[str, str] = {
    "fence": "`~",
    "blockquote": ">",
    "hr": "*-_",
    "list": "*-+0123456789",
    "heading": "#",
    "html_block": "<",
    "reference": "[",
    "front_matter": "",  # only ever at line 0, where every rule is tried
}
_RuleFn = Callable[[StateBlock, int, int, bool], bool]


class _NoDebugLog:
    """Stands in for markdown-it's module logger in `_without_debug_log`'s copies of its block rules."""

    @staticmethod
    def debug(*args: object) -> None:
        """Nothing: the copies of the rules write no debug line."""


def _without_debug_log(fn: _RuleFn) -> _RuleFn:
    """A copy of markdown-it's rule `fn` whose `LOGGER.debug("entering ...", ...)` on entry does nothing.

    Each block rule logs its every call at debug level, which costs a check of the logger's level even
    when nothing is logged: 400,000 calls for 1,000 runbooks, ~0.035 s. The copy runs the same code with
    the same module globals but LOGGER. A function without a LOGGER global is returned as it is.
    """
    if not isinstance(fn, FunctionType) or "LOGGER" not in fn.__globals__:
        return fn
    module_globals = _QUIET_GLOBALS.get(fn.__module__)
    if module_globals is None:
        module_globals = {**fn.__globals__, "LOGGER": _NoDebugLog}
        _QUIET_GLOBALS[fn.__module__] = module_globals
    copy = FunctionType(fn.__code__, module_globals, fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    copy.__qualname__ = fn.__qualname__
    return cast(_RuleFn, copy)


_QUIET_GLOBALS: dict[str, dict[str, Any]] = {}


def _dispatch_by_first_char(md: MarkdownIt) -> MarkdownIt:
    """Make `md`'s block parser try, at each line, only the rules that can start with its first character.

    markdown-it tries every enabled rule in turn at each block start, and the rules that can end a
    paragraph, a list item or a quote at each of their lines: ~1.4 million calls for 1,000 runbooks,
    nearly all of which look at one character and return False (~25% of markdown-it's time). This keeps
    markdown-it's own rule functions, in their order, and skips only the ones that would return False.
    The front matter rule only ever matches at line 0, where the whole chain is tried as before. The rules
    are run as copies that write no debug line (`_without_debug_log`).
    """
    ruler = md.block.ruler
    names = ruler.get_active_rules()
    functions = ruler.getRules("")
    # markdown-it tells indented code from other indented text by whether a rule named "code" is active.
    if len(names) != len(functions) or names[-1] != "paragraph" or "code" in names:
        return md  # a configuration this was not written for: leave it as it is
    name_of = {id(fn): name for name, fn in zip(names, functions, strict=True)}
    quiet = {id(fn): _without_debug_log(fn) for fn in functions}
    chars = "".join(sorted(set("".join(_RULE_FIRST_CHARS.values()))))

    def make(chain: list[_RuleFn]) -> _RuleFn:
        def candidates(ch: str) -> tuple[_RuleFn, ...]:
            return tuple(quiet[id(fn)] for fn in chain if ch in _RULE_FIRST_CHARS.get(name_of[id(fn)], ch))

        by_char = {ch: candidates(ch) for ch in chars}
        other = candidates("\n")  # a character no listed rule starts with
        every = tuple(quiet[id(fn)] for fn in chain)

        def rule(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
            if start_line == 0:
                todo = every
            else:
                pos = state.bMarks[start_line] + state.tShift[start_line]
                todo = by_char.get(state.src[pos : pos + 1], other)
            for fn in todo:  # noqa: SIM110 - any() over a generator costs more, in markdown-it's hottest loop
                if fn(state, start_line, end_line, silent):
                    return True
            return False

        return rule

    chains = {chain: ruler.getRules(chain) for chain in ("paragraph", "list", "blockquote", "reference")}
    ruler.disable(names)
    # The main chain ends with the paragraph rule, which always succeeds: the terminator chains pushed
    # after it are only ever called by the rules that look them up by name.
    ruler.push("first_char", make(functions))
    for chain, rules in chains.items():
        if rules:
            ruler.push(f"first_char_{chain}", make(rules), {"alt": [chain]})
    return md


# Token's fields, in order, as the cheaper `push` below sets them: checked against markdown-it's Token at import.
_TOKEN_FIELDS: tuple[str, ...] = ("type", "tag", "nesting", "attrs", "map", "level", "children", "content")
_TOKEN_FIELDS += ("markup", "info", "meta", "block", "hidden")
_new_token = object.__new__
# The `attrs` and `meta` of every block token `push` creates: one empty mapping, read-only, shared instead of
# two new dicts a token (1.1 million for 1,000 runbooks, all discarded). The block rules we run only ever
# replace these (`token.attrs = {...}`); a rule writing into one in place would raise, not corrupt the others.
_EMPTY: dict[Any, Any] = cast("dict[Any, Any]", MappingProxyType({}))
# The options of a step whose fence has none, or that is no command: Step's own default, one shared instance.
_NO_OPTIONS: StepOptions = Step.options


def _expanded_indent(blanks: str) -> int:
    """The width of a line's leading spaces and tabs, tabs expanded to the next multiple of 4."""
    offset = 0
    for ch in blanks:
        offset += 4 - offset % 4 if ch == "\t" else 1
    return offset


class _StateBlock(StateBlock):
    """markdown-it's block state, its line tables built and its tokens created (`push`, ~555 a runbook)
    for less.

    Token is a slotted dataclass: its __init__ fills the defaults through factories and then runs
    __post_init__ to turn `attrs` from a list into a dict. Setting the fields directly gives the same
    Token, equal field by field, in half the time (~0.1 s of the 1,000-file load); sharing one empty
    read-only `attrs` and `meta` (`_EMPTY`) saved another 0.07 s.
    """

    def __init__(self, src: str, md: MarkdownIt, env: EnvType, tokens: list[Token]) -> None:
        # markdown-it's own __init__ for an empty text sets every field; then the line tables for `src`,
        # from str.split and comprehensions instead of a loop over each line's leading blanks: 0.112 s ->
        # 0.087 s for the 1,000-file corpus.
        super().__init__("", md, env, tokens)
        self.src = src
        lines = src.split("\n")
        if not lines[-1].lstrip(" \t"):
            lines.pop()  # the end of a text ending in a newline, or a last line of blanks: no line, as markdown-it
        widths = [len(line) for line in lines]
        b_marks = list(accumulate([width + 1 for width in widths], initial=0))
        b_marks[-1] = len(src)  # the fake line after the last, as markdown-it adds it for bounds checks
        e_marks = [*map(add, b_marks, widths), len(src)]
        t_shift = [width - len(line.lstrip(" \t")) for line, width in zip(lines, widths, strict=True)]
        self.tabs = "\t" in src
        if self.tabs:
            s_count = [_expanded_indent(line[:indent]) for line, indent in zip(lines, t_shift, strict=True)]
        else:
            s_count = t_shift.copy()
        t_shift.append(0)
        s_count.append(0)
        self.bMarks = b_marks
        self.eMarks = e_marks
        self.tShift = t_shift
        self.sCount = s_count
        self.bsCount = [0] * len(b_marks)
        self.lineMax = len(lines)

    def getLines(self, begin: int, end: int, indent: int, keepLastLF: bool) -> str:
        """markdown-it's `getLines`: lines `begin` to `end`, each without up to `indent` columns of indentation.

        Without a tab in the text, what markdown-it removes from a line, looking at it character by character,
        is exactly its first `min(indent, tShift)` characters: spaces, or a list marker or `>` that a rule has
        moved the line's start (`bMarks`) or first character (`tShift`) past. Cut so, paragraphs and code
        blocks cost a slice a line.
        """
        if self.tabs:
            return super().getLines(begin, end, indent, keepLastLF)
        if begin >= end:
            return ""
        src = self.src
        b_marks = self.bMarks
        e_marks = self.eMarks
        t_shift = self.tShift
        last = end - 1
        if begin == last:
            shift = t_shift[begin]
            first = b_marks[begin] + (indent if indent < shift else shift)
            return src[first : e_marks[begin] + 1 if keepLastLF else e_marks[begin]]
        parts = []
        for line in range(begin, last):
            shift = t_shift[line]
            parts.append(src[b_marks[line] + (indent if indent < shift else shift) : e_marks[line] + 1])
        shift = t_shift[last]
        end_of_last = e_marks[last] + 1 if keepLastLF else e_marks[last]
        parts.append(src[b_marks[last] + (indent if indent < shift else shift) : end_of_last])
        return "".join(parts)

    def push(self, ttype: str, tag: str, nesting: Literal[-1, 0, 1]) -> Token:
        token: Token = _new_token(Token)
        token.type = ttype
        token.tag = tag
        token.nesting = nesting
        token.attrs = _EMPTY
        token.map = None
        if nesting < 0:
            self.level -= 1  # closing tag
        token.level = self.level
        if nesting > 0:
            self.level += 1  # opening tag
        token.children = None
        token.content = ""
        token.markup = ""
        token.info = ""
        token.meta = _EMPTY
        token.block = True
        token.hidden = False
        self.tokens.append(token)
        return token


class _ParserBlock(ParserBlock):
    """markdown-it's block parser, run on a `_StateBlock`."""

    def parse(self, src: str, md: MarkdownIt, env: EnvType, outTokens: list[Token]) -> list[Token] | None:
        if not src:
            return None
        state = _StateBlock(src, md, env, outTokens)
        self.tokenize(state, state.line, state.lineMax)
        return None


def _use_cheaper_tokens(md: MarkdownIt) -> MarkdownIt:
    """Make `md` build its block tokens with `_StateBlock.push`, when Token still has the fields it sets."""
    if tuple(f.name for f in dataclasses.fields(Token)) != _TOKEN_FIELDS:
        return md  # a markdown-it this was not written for: leave it as it is
    block = _ParserBlock()
    block.ruler = md.block.ruler
    md.block = block
    return md


def _normalize(state: StateCore) -> None:
    """markdown-it's own "normalize" rule (CRLF and CR to LF, NUL to U+FFFD) with str.replace: its regex
    replaces every newline with itself, ~3% of the time to load 1,000 runbooks."""
    state.src = state.src.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")


def _block_parser(*, setext: bool) -> MarkdownIt:
    """The markdown-it parser runbooks are read with: CommonMark's block rules and front matter, no more.

    Only the block phase runs: inline parsing would double the cost and we only need the raw text of
    headings, paragraphs and list items. For the same reason task list items are recognised here with
    the rule of mdit-py-plugins' tasklists (`[ ]`/`[x]` then a space at the start of an item) instead of
    through the plugin, which needs the inline phase. Indented code blocks, HTML blocks and link
    reference definitions are never steps, so their rules are off too.
    """
    md = MarkdownIt("commonmark", {"maxNesting": 40}).use(front_matter_plugin)
    md.disable(["inline", "text_join", "reference", "html_block", "code"], ignoreInvalid=True)
    if not setext:
        md.disable("lheading")
    # Options markdown-it reads with .get(name, False) at every list item and quote: set to that same
    # False, they no longer cost a KeyError raised and caught inside its options mapping each time.
    for option in ("tasklists", "alerts", "inline_definitions"):
        md.options[option] = False
    md.core.ruler.at("normalize", _normalize)
    return _use_cheaper_tokens(_dispatch_by_first_char(md))


_MD = _block_parser(setext=True)
# Setext headings (a line of text underlined with === or ---) are rare in runbooks, yet their rule runs at
# the start of every paragraph and reads the paragraph to its end a second time (~10% of markdown-it's
# time on the seeds). Documents without any line that could underline text use a parser without it.
_MD_NO_SETEXT = _block_parser(setext=False)
# A superset of setext underlines: any indentation or blockquote markers (the line above is checked apart).
# Found by the newline before them: a literal first character lets `re` skip ahead, where `^` is tried at
# every position (three times slower).
_UNDERLINE = re.compile(r"\n[ \t>]*(?:=+|-+)[ \t]*$", re.MULTILINE)

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console", "zsh", "shell-session", "shellsession", "ksh"})

_TASK = re.compile(r"^\[([ xX])\]\s+")
_BOLD_LABEL = re.compile(r"^(?:\*\*|__)([^*_\n]{1,80}?)(?:\*\*|__)\s*:?\s*$")
_BOLD_PREFIX = re.compile(r"^(?:\*\*|__)([^*_\n]{1,80}?)\s*:?\s*(?:\*\*|__)\s*:?\s+(.+)$", re.DOTALL)
_PROMPT = re.compile(r"^\s*\$(?: |$)")
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
# libyaml's safe loader when present: ten times faster than the pure Python one, same safety.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOX_DRAWING = re.compile(r"[\u2500-\u257f]|â”")
_BRACE = re.compile(r"\{([^}]*)\}")
_OPTION_SEPARATORS = re.compile(r"[\s,]+")
_ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def _normalized(text: str) -> str:
    """`text` with the line endings markdown-it reads (a lone CR ends a line too) and no NUL: line numbers,
    the setext check and the closing-fence check then agree with its tokens."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


def _may_have_setext(text: str) -> bool:
    """False only when no line of `text` (normalized, after any front matter) could underline a setext
    heading."""
    start = 0
    if text.startswith("---\n"):
        close = text.find("\n---", 3)
        start = close + 4 if close >= 0 else 0
    for match in _UNDERLINE.finditer(text, start):
        above_end = match.start()  # the newline that ends the line above
        if above_end <= 0:
            continue
        above = text[text.rfind("\n", 0, above_end) + 1 : above_end]
        if above.strip(" \t>"):
            return True
    return False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector for the duration; restore it after unless it was already off.

    For parsing many files at once. Parsing allocates hundreds of thousands of containers (markdown-it's
    tokens, our steps) and creates no reference cycles: reference counting frees all of it. Left on, the
    collector runs a pass every 700 allocations, promotes the tokens of the file being parsed, and its
    full passes walk every runbook parsed so far again and again as they pile up: ~20% of the time to
    load 1,000 runbooks. The runbooks kept are walked once, by the next full pass after the load.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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


def _is_prose_block(text: str) -> bool:
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
        return lang, _NO_OPTIONS, complaints  # most fences: one shared frozen instance, one object less each
    options = StepOptions(timeout=timeout, confirm=flags["confirm"], auto=flags["auto"], verify=flags["verify"])
    return lang, options, complaints


def _strip_markup(text: str) -> str:
    return text.replace("**", "").replace("__", "").strip()


class _Builder:
    """Walks the markdown-it token stream once and builds the runbook."""

    def __init__(self, text: str, path: Path | None) -> None:
        self.text = text
        self.path = path
        self.problems: list[Problem] = []
        self.sections: list[Section] = []
        self.steps: list[Step] = []
        self.symptoms: list[str] = []
        self.front = FrontMatter()
        self.heading_stack: list[Section] = []
        self.current: Section | None = None
        self.real: Section | None = None
        self.lead = ""
        self.first_heading: str | None = None
        self.declared: set[str] = set()

    # -- problems ----------------------------------------------------------------------------------
    def problem(self, line: int, level: Level, code: str, message: str) -> None:
        self.problems.append(Problem(line, level, code, message))

    # -- front matter ------------------------------------------------------------------------------
    def front_matter(self, token: Token) -> None:
        self.front.present = True
        try:
            text = token.content
            data = yaml.load(text, Loader=_YAML_LOADER) if text.strip() else {}  # noqa: S506 - a SafeLoader
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = 2 + (mark.line if mark is not None else 0)
            if token.map:
                # An error found at the end of the text belongs to its last line, not the closing ---.
                line = max(1, min(line, token.map[1] - 1))
            reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self.problem(line, Level.ERROR, "front-matter", f"front matter is not valid YAML: {reason}")
            return
        if not isinstance(data, dict):
            self.problem(1, Level.ERROR, "front-matter", "front matter must be a mapping of keys to values")
            return
        self.read_front(data)

    def read_front(self, data: dict[str, Any]) -> None:
        front = self.front

        def strings(key: str) -> list[str]:
            value = data.get(key)
            if value is None:
                return []
            if isinstance(value, str):
                return [value]
            if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
                return [str(v) for v in value]
            self.problem(1, Level.ERROR, "front-matter", f"front matter {key!r} must be a string or a list")
            return []

        for key in ("id", "title", "severity", "owner"):
            value = data.get(key)
            if value is not None and not isinstance(value, str | int):
                self.problem(1, Level.ERROR, "front-matter", f"front matter {key!r} must be a string")
            elif value is not None:
                setattr(front, key, str(value))
        front.services = strings("services") or strings("service")
        front.match = strings("match")
        for expression in front.match:
            try:
                matchers.parse_matchers([expression])
            except InvalidInput as exc:
                self.problem(1, Level.ERROR, "front-matter", f"front matter match {expression!r}: {exc}")
        front.required_sections = strings("required_sections")
        reviewed = data.get("last_reviewed")
        if isinstance(reviewed, datetime):
            front.last_reviewed = reviewed.date()
        elif isinstance(reviewed, date):
            front.last_reviewed = reviewed
        elif isinstance(reviewed, str):
            try:
                front.last_reviewed = date.fromisoformat(reviewed)
            except ValueError:
                self.problem(1, Level.ERROR, "front-matter", f"last_reviewed {reviewed!r} is not a date (YYYY-MM-DD)")
        elif reviewed is not None:
            self.problem(1, Level.ERROR, "front-matter", "last_reviewed must be a date (YYYY-MM-DD)")
        every = data.get("review_every")
        if every is not None:
            try:
                # A bare number means days: nobody reviews a runbook every 90 seconds.
                front.review_every = (
                    timedelta(days=every) if isinstance(every, int | float) else parse_duration(str(every))
                )
            except ValueError as exc:
                self.problem(1, Level.ERROR, "front-matter", f"review_every: {exc}")
        front.params = self.read_params(data.get("params"))
        self.declared = {p.name for p in front.params}
        known = {"id", "title", "services", "service", "match", "severity", "owner", "last_reviewed"}
        known |= {"review_every", "params", "required_sections"}
        front.extra = {k: v for k, v in data.items() if k not in known}

    def read_params(self, raw: Any) -> list[Param]:
        if raw is None:
            return []
        items: list[tuple[str, Any]] = []
        if isinstance(raw, dict):
            items = [(str(k), v) for k, v in raw.items()]
        elif isinstance(raw, list):
            for entry in raw:
                if isinstance(entry, str):
                    items.append((entry, {}))
                elif isinstance(entry, dict) and "name" in entry:
                    items.append((str(entry["name"]), entry))
                else:
                    self.problem(1, Level.ERROR, "front-matter", "each param needs a name")
        else:
            self.problem(1, Level.ERROR, "front-matter", "params must be a list or a mapping")
        params: list[Param] = []
        for name, spec in items:
            spec = spec if isinstance(spec, dict) else {"default": spec}
            pattern = spec.get("pattern")
            if pattern is not None:
                try:
                    re.compile(str(pattern))
                except re.error as exc:
                    self.problem(1, Level.ERROR, "front-matter", f"param {name!r} pattern is not a regex: {exc}")
                    pattern = None
            default = spec.get("default")
            params.append(
                Param(
                    name=name if name.isupper() else normalize_name(name),
                    description=str(spec.get("description") or ""),
                    default=None if default is None else str(default),
                    pattern=None if pattern is None else str(pattern),
                )
            )
        return params

    # -- sections ----------------------------------------------------------------------------------
    def heading(self, token: Token, raw: str) -> None:
        level = int(token.tag[1:])
        line = (token.map[0] if token.map else 0) + 1
        title = clean_heading(raw)
        if self.first_heading is None and title:
            self.first_heading = title
        while self.heading_stack and self.heading_stack[-1].level >= level:
            self.heading_stack.pop()
        parent = self.heading_stack[-1] if self.heading_stack else None
        section = self.new_section(title, raw, level, line, parent, pseudo=False)
        self.heading_stack.append(section)
        self.real = section
        self.current = section
        self.lead = ""

    def pseudo_heading(self, label: str, line: int) -> None:
        parent = self.real
        level = (parent.level if parent else 0) + 1
        self.current = self.new_section(clean_heading(label), label, level, line, parent, pseudo=True)
        self.lead = ""

    def new_section(
        self, title: str, raw: str, level: int, line: int, parent: Section | None, *, pseudo: bool
    ) -> Section:
        own = role_of(title)
        inherited = parent.role if parent else None
        # Everything under a post-incident heading is post-incident work, even "Immediate Actions".
        role = inherited if inherited is Role.POST_INCIDENT else (own or inherited)
        path = ((*parent.path, title) if parent else (title,)) if title else (parent.path if parent else ())
        # Section's fields by position (index, title, heading, level, path, line, role, own_role, parent,
        # pseudo): cheaper than by keyword, ~44 sections a runbook.
        parent_index = parent.index if parent else None
        section = Section(len(self.sections), title, raw.strip(), level, path, line, role, own, parent_index, pseudo)
        self.sections.append(section)
        return section

    def note_text(self, text: str) -> None:
        current = self.current
        if current is not None:
            current.has_content = True
            current.text.append(text)
            if current.role is Role.DETECTION:
                self.symptoms.append(_strip_markup(text))

    # -- steps -------------------------------------------------------------------------------------
    def add_step(
        self, kind: StepKind, line: int, *, text: str = "", label: str = "", language: str = "", checked: bool = False
    ) -> Step:
        """A manual, check or reference step in the current section."""
        return self.new_step(kind, line, None, text, "", label, language, (), (), (), _NO_OPTIONS, checked)

    def new_step(
        self,
        kind: StepKind,
        line: int,
        command: str | None,
        text: str,
        description: str,
        label: str,
        language: str,
        placeholders: tuple[str, ...],
        refs: tuple[PlaceholderRef, ...],
        danger_reasons: tuple[str, ...],
        options: StepOptions,
        checked: bool,
    ) -> Step:
        """A step in the current section, Step's fields passed by position: ~1 us less a step than by
        keyword through a `**fields` dict (60,000 steps for 1,000 runbooks)."""
        section = self.current
        index: int | None = None
        role: Role | None = None
        if section is not None:
            section.has_content = True
            index, role = section.index, section.role
        step = Step(
            len(self.steps) + 1,
            "",
            kind,
            index,
            "",
            role,
            line,
            command,
            text,
            description,
            label,
            language,
            None,
            placeholders,
            refs,
            bool(danger_reasons),
            danger_reasons,
            options,
            checked,
        )
        self.steps.append(step)
        return step

    def fence(self, token: Token, label: str, quote_depth: int = 0) -> None:
        start = token.map[0] if token.map else 0
        end = token.map[1] if token.map else start + 1
        lines = self.lines
        closing = lines[end - 1] if end - 1 < len(lines) and end - 1 > start else ""
        for _ in range(quote_depth):  # the closing line of a fence in a quote starts with its `>` markers
            closing = closing.lstrip(" \t")
            closing = closing[1:] if closing.startswith(">") else closing
        closing = closing.strip()
        marker = token.markup
        if not (closing.startswith(marker) and closing.strip(marker[0]) == ""):
            self.problem(
                start + 1,
                Level.ERROR,
                "unclosed-fence",
                f"code fence opened at line {start + 1} is never closed",
            )
        lang, options, complaints = parse_info(token.info)
        for complaint in complaints:
            self.problem(start + 1, Level.WARNING, "step-option", complaint)
        content = token.content
        lang_lower = lang.lower()
        first = start + 2
        if self.current is not None:
            self.current.has_content = True
        if lang_lower in SHELL_LANGUAGES or (not lang_lower and looks_like_commands(content)):
            if lang_lower in SHELL_LANGUAGES and _is_prose_block(content):
                self.problem(
                    start + 1,
                    Level.WARNING,
                    "not-commands",
                    f"this {lang} block holds prose, not commands; it is shown but not run",
                )
                self.reference(content, lang, first - 1)
                return
            prompted = "$" in content and any(_PROMPT.match(line) for line in content.splitlines())
            if prompted:
                self.console_block(content, lang, options, first, label)
            else:
                self.shell_block(content, lang, options, first, label)
            return
        self.reference(content, lang, first - 1)

    @property
    def lines(self) -> list[str]:
        cached: list[str] | None = getattr(self, "_lines", None)
        if cached is None:
            cached = self.text.split("\n")
            self._lines = cached
        return cached

    def reference(self, content: str, lang: str, line: int) -> None:
        self.add_step(StepKind.REFERENCE, line, text=content, language=lang, label=self.lead)

    def shell_block(self, content: str, lang: str, options: StepOptions, first: int, label: str) -> None:
        refs = find_placeholders(content, self.declared)
        scanned = scan(mask_placeholders(content, refs))
        group: list[str] = []
        group_line = -1
        group_last = -2
        group_used = True
        line_no = counted = 0  # the line of `counted`, counted on from item to item (they come in order)
        for item in scanned.items:
            if item.start >= counted:
                line_no += content.count("\n", counted, item.start)
            else:
                line_no = content.count("\n", 0, item.start)
            counted = item.start
            if item.kind == "comment":
                body = content[item.start : item.end].lstrip("#").strip()
                if content.startswith("#!", item.start):
                    continue
                if line_no != group_last + 1:
                    if not group_used and group:
                        self.manual_from_comments(group, first + group_line, lang)
                    group, group_line, group_used = [], line_no, False
                if body:
                    group.append(body)
                group_last = line_no
                continue
            command = content[item.start : item.end].rstrip()
            if not command.strip():
                continue
            group_used = True
            own_refs = (
                tuple(
                    PlaceholderRef(r.name, r.text, r.start - item.start, r.end - item.start)
                    for r in refs
                    if item.start <= r.start < item.end
                )
                if refs
                else ()
            )
            self.command_step(command, "\n".join(group), label, lang, options, first + line_no, own_refs)
        if not group_used and group:
            self.manual_from_comments(group, first + group_line, lang)
        if scanned.unclosed:
            last_line = first + (content.count("\n", 0, scanned.items[-1].start) if scanned.items else 0)
            self.problem(
                last_line,
                Level.ERROR,
                "unbalanced",
                f"command has unbalanced quoting: {', '.join(scanned.unclosed)} left open",
            )

    def manual_from_comments(self, group: list[str], line: int, lang: str) -> None:
        self.add_step(StepKind.MANUAL, line, text="\n".join(group), label=self.lead, language=lang)

    def console_block(self, content: str, lang: str, options: StepOptions, first: int, label: str) -> None:
        lines = content.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        description: list[str] = []
        pending: tuple[str, int] | None = None
        output: list[str] = []

        def flush() -> None:
            if pending is None:
                return
            command, line_no = pending
            refs = tuple(find_placeholders(command, self.declared))
            step = self.command_step(command, "\n".join(description), label, lang, options, first + line_no, refs)
            step.expected_output = "\n".join(output) if output else None

        i = 0
        while i < len(lines):
            line = lines[i]
            if _PROMPT.match(line):
                flush()
                if pending is not None:
                    description = []
                output = []
                command = line.lstrip()[2:] if line.lstrip() != "$" else ""
                start = i
                while i + 1 < len(lines) and self.incomplete(command):
                    i += 1
                    nxt = lines[i]
                    command += "\n" + (nxt.lstrip()[2:] if nxt.lstrip().startswith("> ") else nxt)
                pending = (command, start)
            elif pending is None:
                if line.strip().startswith("#"):
                    description.append(line.strip().lstrip("#").strip())
            else:
                output.append(line)
            i += 1
        flush()

    def incomplete(self, command: str) -> bool:
        stripped = command.rstrip()
        if stripped.endswith(("\\", "|", "&&", "||")):
            return True
        return bool(scan(mask_placeholders(command, find_placeholders(command, self.declared))).unclosed)

    def command_step(
        self,
        command: str,
        description: str,
        label: str,
        lang: str,
        options: StepOptions,
        line: int,
        refs: tuple[PlaceholderRef, ...],
    ) -> Step:
        nearby = " ".join((description, label, self.lead, self.current.title if self.current else ""))
        reasons = command_dangers(command) + text_dangers(nearby)
        if reasons and options.auto:
            self.problem(line, Level.WARNING, "auto-dangerous", "dangerous step marked auto: it will always ask")
            options = StepOptions(timeout=options.timeout, confirm=options.confirm, auto=False, verify=options.verify)
        names = tuple(dict.fromkeys(ref.name for ref in refs)) if refs else ()
        danger_reasons = tuple(dict.fromkeys(reasons)) if reasons else ()
        return self.new_step(
            StepKind.COMMAND, line, command, "", description, label, lang, names, refs, danger_reasons, options, False
        )

    # -- the walk ----------------------------------------------------------------------------------
    def walk(self, tokens: list[Token]) -> None:
        items: list[str] = []  # for each open list item, the label fences inside it get
        lists: list[bool] = []  # for each open list, whether it is ordered
        quote_depth = 0
        n = len(tokens)
        i = 0
        # Token types tested in the order of how often they come. A paragraph or heading is three tokens
        # (open, inline with the text, close): all three are done at once.
        while i < n:
            token = tokens[i]
            kind = token.type
            if kind == "paragraph_open":
                if not items:
                    content = tokens[i + 1].content if i + 1 < n else ""
                    line = (token.map[0] if token.map else 0) + 1
                    self.paragraph(content, line, in_quote=quote_depth > 0)
                i += 3
                continue
            if kind == "list_item_open":
                items.append(self.list_item(tokens, i, bool(lists and lists[-1]), len(items)))
            elif kind == "list_item_close":
                if items:
                    items.pop()
            elif kind == "heading_open":
                self.heading(token, tokens[i + 1].content if i + 1 < n else "")
                i += 3
                continue
            elif kind == "bullet_list_open" or kind == "ordered_list_open":
                lists.append(kind == "ordered_list_open")
                if not items:
                    self.lead = ""
            elif kind == "bullet_list_close" or kind == "ordered_list_close":
                if lists:
                    lists.pop()
            elif kind == "fence":
                label = items[-1] if items else ""
                self.fence(token, label or _strip_markup(self.lead), quote_depth)
                self.lead = ""
            elif kind == "blockquote_open":
                quote_depth += 1
            elif kind == "blockquote_close":
                quote_depth -= 1
            elif kind == "front_matter":
                self.front_matter(token)
            i += 1

    def paragraph(self, content: str, line: int, *, in_quote: bool) -> None:
        bold = content[:2] in ("**", "__")  # both patterns below start so
        label = _BOLD_LABEL.match(content) if bold and not in_quote else None
        if label and self.current is not None:
            self.pseudo_heading(label.group(1), line)
            return
        prefix = _BOLD_PREFIX.match(content) if bold else None
        if prefix and role_of(prefix.group(1)) is Role.DETECTION:
            self.symptoms.append(_strip_markup(prefix.group(2)))
        self.note_text(content)
        self.lead = content

    def list_item(self, tokens: list[Token], i: int, ordered: bool, depth: int) -> str:
        """Handle a list item's own text; return the label its nested fences get."""
        n = len(tokens)
        if not (i + 2 < n and tokens[i + 1].type == "paragraph_open"):
            return ""
        text = tokens[i + 2].content
        if not text:
            return ""
        token = tokens[i]
        if text[0] == "[":
            task = _TASK.match(text)
            if task:
                line = (token.map[0] if token.map else 0) + 1
                checked = task.group(1) != " "
                self.add_step(StepKind.CHECK, line, text=_strip_markup(text[task.end() :]), checked=checked)
                return ""
        self.note_text(text)
        if not ordered:
            return ""
        holds_fence = False
        level = token.level
        j = i + 1
        while j < n:
            other = tokens[j]
            if other.type == "list_item_close" and other.level == level:
                break
            if other.type == "fence":
                holds_fence = True
                break
            j += 1
        if holds_fence:
            return _strip_markup(text.split("\n", 1)[0]).rstrip(":")
        line = (token.map[0] if token.map else 0) + 1
        label = _BOLD_LABEL.match(text)
        if label and (text.rstrip().endswith(":") or label.group(1).rstrip().endswith(":")):
            # "1. **Service Restart:**" standing alone names what follows, like a heading.
            if depth == 0 and self.current is not None:
                self.pseudo_heading(label.group(1), line)
            return ""
        self.add_step(StepKind.MANUAL, line, text=_strip_markup(text))
        return ""

    # -- result ------------------------------------------------------------------------------------
    def finish(self) -> Runbook:
        # A document with one H1 uses it as its title: leave it out of every path, as a reader would.
        top = [section for section in self.sections if section.level == 1]
        if len(top) == 1 and self.sections and self.sections[0] is top[0]:
            title_section = top[0]
            for section in self.sections[1:]:
                if section.path[:1] == title_section.path and len(section.path) > 1:
                    section.path = section.path[1:]
        seen: dict[str, int] = {}
        paths = [section.path_str for section in self.sections]
        blake2s = hashlib.blake2s
        for step in self.steps:
            section_index = step.section
            section_path = paths[section_index] if section_index is not None else ""
            step.section_path = section_path
            # A stable id: the same step keeps it when other parts of the file change.
            command = step.command
            key = f"{step.kind}|{section_path}|{command if command is not None else step.text}"
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            step.id = blake2s(f"{key}|{occurrence}".encode(), digest_size=5).hexdigest()
        stem = self.path.stem if self.path else "runbook"
        title = self.front.title or self.first_heading or stem
        return Runbook(
            id=self.front.id or stem,
            title=title,
            path=self.path,
            front=self.front,
            sections=self.sections,
            steps=self.steps,
            problems=sorted(self.problems, key=lambda p: (p.line, p.level != Level.ERROR)),
            symptoms=self.symptoms,
        )


def parse(text: str, path: Path | str | None = None) -> Runbook:
    """Parse Markdown runbook text; `path` names it, its stem is the default id. Never raises."""
    where = path if isinstance(path, Path) or path is None else Path(path)
    builder = _Builder(text, where)
    try:
        text = _normalized(text)
        builder.text = text
        tokens = (_MD if _may_have_setext(text) else _MD_NO_SETEXT).parse(text)
        if text.startswith("---\n") and not (tokens and tokens[0].type == "front_matter"):
            builder.problem(1, Level.ERROR, "front-matter", "front matter opened at line 1 is never closed with ---")
        builder.walk(tokens)
    except Exception as exc:  # a broken file must never take the server or the CLI down with it
        builder.problem(1, Level.ERROR, "parser", f"could not parse this runbook: {type(exc).__name__}: {exc}")
    return builder.finish()


def parse_file(path: Path | str) -> Runbook:
    """Read and parse one runbook file; an unreadable file gives a runbook with one problem."""
    where = path if isinstance(path, Path) else Path(path)  # a copy would format its text again to open it
    try:
        data = where.read_bytes()
    except OSError as exc:
        runbook = parse("", where)
        runbook.problems.append(Problem(1, Level.ERROR, "unreadable", f"cannot read {where}: {exc.strerror or exc}"))
        return runbook
    text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return parse(text, where)
