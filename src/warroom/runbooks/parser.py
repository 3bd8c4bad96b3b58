"""Reading a Markdown runbook into front matter, sections and steps. Never raises: problems are listed."""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from markdown_it.token import Token

from warroom.runbooks.blocktext import (
    NO_OPTIONS,
    SHELL_LANGUAGES,
    find_placeholders,
    is_prose_block,
    looks_like_commands,
    mask_placeholders,
    parse_info,
)
from warroom.runbooks.danger import command_dangers, text_dangers
from warroom.runbooks.frontmatter import read_front_matter
from warroom.runbooks.headings import clean_heading, role_of
from warroom.runbooks.markdown import MD, MD_NO_SETEXT, may_have_setext, normalized
from warroom.runbooks.model import (
    FrontMatter,
    Level,
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

_TASK = re.compile(r"^\[([ xX])\]\s+")
_BOLD_LABEL = re.compile(r"^(?:\*\*|__)([^*_\n]{1,80}?)(?:\*\*|__)\s*:?\s*$")
_BOLD_PREFIX = re.compile(r"^(?:\*\*|__)([^*_\n]{1,80}?)\s*:?\s*(?:\*\*|__)\s*:?\s+(.+)$", re.DOTALL)
_PROMPT = re.compile(r"^\s*\$(?: |$)")


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
    # -- front matter ------------------------------------------------------------------------------
    def front_matter(self, token: Token) -> None:
        read_front_matter(token, self.front, self.problem)
        self.declared = {p.name for p in self.front.params}

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
        return self.new_step(kind, line, None, text, "", label, language, (), (), (), NO_OPTIONS, checked)

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
            if lang_lower in SHELL_LANGUAGES and is_prose_block(content):
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
        text = normalized(text)
        builder.text = text
        tokens = (MD if may_have_setext(text) else MD_NO_SETEXT).parse(text)
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
