"""Just enough of bash's grammar to split a code block into commands and to know how a position is quoted.

This is not a shell parser. It tracks quotes, escapes, `$(...)`, `${...}`, backquotes, heredocs, comments,
compound commands (`for/while/until ... done`, `if ... fi`, `case ... esac`, `{ ... }`, `( ... )`) and
trailing `|`, `&&`, `||`, which is what decides where one command ends and where a value may be inserted.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from enum import StrEnum


class Context(StrEnum):
    """How bash would read a character at some position."""

    UNQUOTED = "unquoted"
    SINGLE = "single"
    DOUBLE = "double"
    COMMENT = "comment"
    # A heredoc's body: literal for letters, digits and `._:/@%+=,-` whatever its delimiter's quoting.
    HEREDOC = "heredoc"
    # Heredoc bodies, backquotes, ${...}, $((...)) and $'...': quoting rules differ there and a value
    # cannot be inserted as one shell-quoted word with confidence, so we refuse.
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class Item:
    """A top-level comment line or one complete command, as offsets into the scanned text."""

    kind: str  # "comment" | "command"
    start: int
    end: int


@dataclass
class Scan:
    """What the scanner found: items in order, contexts of probed positions, and what was left open."""

    items: list[Item] = field(default_factory=list)
    contexts: dict[int, Context] = field(default_factory=dict)
    unclosed: list[str] = field(default_factory=list)


_PLAIN = re.compile(r"[^\s'\"\\$`;&|()<>#{}]+")
# Words and the blanks between them up to the next special character: one step for most of a line.
_RUN = re.compile(r"[^\n\r'\"\\$`;&|()<>#{}]+")
_WORDS = re.compile(r"[^ \t]+")
_DQ_PLAIN = re.compile(r'[^"\\$`]+')
_NAME_CHARS = re.compile(r"[A-Za-z0-9_]+|[@*#?$!0-9-]")
_HEREDOC = re.compile(r"<<(-?)[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([^\s;&|<>()'\"]+))")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
# A line of plain words (no quote, escape, expansion, operator, comment, brace or CR), from the start of a
# command: group 1 is the command, group 2 its first word. The common case, done in one match (below).
# Possessive (`++`, `*+`): on a line with a quote or an operator the match fails at once, where backtracking
# tried every shorter first word and rest before failing (1.7 us -> 0.2 us a line; a success is the same match).
_SIMPLE_LINE = re.compile(r"(([^ \t\n\r'\"\\$`;&|()<>#{}]++)[^\n\r'\"\\$`;&|()<>#{}]*+)$", re.MULTILINE)
_OPEN_KEYWORDS = {
    "for": "loop",
    "while": "loop",
    "until": "loop",
    "select": "loop",
    "if": "if",
    "case": "case",
}
_CLOSE_KEYWORDS = {"done": "loop", "fi": "if", "esac": "case"}
_STAY_AT_COMMAND = {"do", "then", "else", "elif", "!", "time", "{"} | set(_OPEN_KEYWORDS) - {
    "for",
    "case",
    "select",
}
_FRAME_NAMES = {
    "dq": "double quote",
    "cmd": "$(",
    "paren": "(",
    "param": "${",
    "arith": "$((",
    "bt": "backquote",
    "brace": "{",
    "loop": "loop without done",
    "if": "if without fi",
    "case": "case without esac",
}
_UNQUOTED_FRAMES = {"cmd", "paren", "brace", "loop", "if", "case"}
# First words after which the next word may still be a keyword, or that are keywords themselves.
_NOT_SIMPLE = frozenset(_STAY_AT_COMMAND | set(_OPEN_KEYWORDS) | set(_CLOSE_KEYWORDS))


class _Scanner:
    simple_lines = True  # the one-match path for plain lines (off in tests, to compare with the long way)

    def __init__(self, text: str, probes: list[int]) -> None:
        self.s = text
        self.n = len(text)
        self.probes = sorted(probes)
        self.scan = Scan()
        self.stack: list[str] = []
        self.at_cmd = True
        self.pending_op = False
        self.heredocs: list[tuple[str, bool]] = []
        self.cmd_start: int | None = None

    # -- bookkeeping -------------------------------------------------------------------------------
    def comment_line(self, i: int) -> int:
        """A comment line between commands, from `i` (its `#`): a description item. Returns where it ends."""
        end = self.s.find("\n", i)
        end = self.n if end < 0 else end
        if self.probes:
            self.mark(i, end, Context.COMMENT)
        self.scan.items.append(Item("comment", i, end))
        return end

    def mark(self, start: int, end: int, context: Context) -> None:
        # Called only `if self.probes:`: the parser scans without probes, 84,000 calls that did nothing in the
        # 1,000-file bench (0.152 -> 0.140 s to scan its code blocks).
        lo = bisect.bisect_left(self.probes, start)
        hi = bisect.bisect_left(self.probes, end)
        for probe in self.probes[lo:hi]:
            self.scan.contexts.setdefault(probe, context)

    def begin_command(self, i: int) -> None:
        if self.cmd_start is None:
            self.cmd_start = i

    def end_command(self, end: int) -> None:
        if self.cmd_start is not None:
            self.scan.items.append(Item("command", self.cmd_start, end))
            self.cmd_start = None

    def frame(self) -> str:
        return self.stack[-1] if self.stack else "top"

    # -- main loop ---------------------------------------------------------------------------------
    def run(self) -> Scan:
        i = 0
        n = self.n
        stack = self.stack
        while i < n:
            if not stack:
                i = self.unquoted(i)  # the common case first: no quote or expansion open
                continue
            frame = stack[-1]
            if frame == "dq":
                i = self.double_quoted(i)
            elif frame == "bt":
                i = self.backquoted(i)
            elif frame == "param":
                i = self.parameter(i)
            elif frame == "arith":
                i = self.arithmetic(i)
            else:
                i = self.unquoted(i)
        self.end_command(self.n)
        for name in reversed(self.stack):
            self.scan.unclosed.append(_FRAME_NAMES.get(name, name))
        for delimiter, _ in self.heredocs:
            self.scan.unclosed.append(f"heredoc without {delimiter}")
        return self.scan

    def unquoted(self, i: int) -> int:
        s = self.s
        c = s[i]
        if c in " \t\r":
            return i + 1
        if c == "\n":
            if self.simple_lines and self.cmd_start is None and not self.heredocs:
                self.at_cmd = True  # a newline between commands: all newline() would do
                return i + 1
            return self.newline(i)
        if self.cmd_start is None and not self.stack:
            if self.simple_lines and not self.heredocs:
                # Between commands nothing is pending (no operator, no heredoc): the newline ending a comment
                # line or a plain line only ends it, as newline() would, and is taken here with it.
                if c == "#":
                    end = self.comment_line(i)
                    self.at_cmd = True
                    return end + 1 if end < self.n else end
                # A command on a line of plain words: what the long way below gives, in one match. Its
                # first word is no keyword and no assignment, so none of the other words can be one.
                m = _SIMPLE_LINE.match(s, i)
                if m is not None and m.group(2) not in _NOT_SIMPLE and not _ASSIGNMENT.match(m.group(2)):
                    start, end = m.start(1), m.end()
                    if self.probes:
                        self.mark(start, end, Context.UNQUOTED)
                    self.pending_op = False
                    if end < self.n:
                        self.scan.items.append(Item("command", start, end))
                        self.at_cmd = True
                        return end + 1
                    self.cmd_start = start
                    self.at_cmd = False
                    return end
            # A line whose first word is a comment is a description, not part of a command.
            if c == "#":
                return self.comment_line(i)
            self.begin_command(i)
        if c == "#" and (i == 0 or s[i - 1] in " \t\n;&|()<>"):
            end = s.find("\n", i)
            end = self.n if end < 0 else end
            if self.probes:
                self.mark(i, end, Context.COMMENT)
            return end
        if c == "'":
            end = s.find("'", i + 1)
            if end < 0:
                if self.probes:
                    self.mark(i, self.n, Context.SINGLE)
                self.scan.unclosed.append("single quote")
                return self.n
            if self.probes:
                self.mark(i + 1, end, Context.SINGLE)
            self.word_done("")
            return end + 1
        if c == '"':
            self.stack.append("dq")
            if self.probes:
                self.mark(i, i + 1, Context.UNQUOTED)
            return i + 1
        if c == "\\":
            # Backslash-newline joins lines; any other escaped character is a literal.
            if self.probes:
                self.mark(i, i + 2, Context.UNQUOTED)
            self.word_done("")
            return i + 2
        if c == "`":
            self.stack.append("bt")
            return i + 1
        if c == "$":
            return self.dollar(i, Context.UNQUOTED)
        if c in ";&|":
            op = s[i : i + 2] if s[i : i + 2] in ("&&", "||", ";;", "|&", ";&") else c
            self.at_cmd = True
            self.pending_op = op in ("&&", "||", "|", "|&")
            return i + len(op)
        if c == "(":
            self.stack.append("paren")
            self.at_cmd = True
            return i + 1
        if c == ")":
            top = self.frame()
            if top in ("paren", "cmd"):
                self.stack.pop()
            # Otherwise a `case` pattern like `start)`: nothing to close.
            self.at_cmd = top != "case"
            self.word_done("")
            return i + 1
        if c == "<":
            if s.startswith("<<<", i):
                return i + 3
            if s.startswith("<<", i):
                m = _HEREDOC.match(s, i)
                if m:
                    delimiter = m.group(2) if m.group(2) is not None else m.group(3)
                    if delimiter is None:
                        delimiter = m.group(4)
                    self.heredocs.append((delimiter, m.group(1) == "-"))
                    return m.end()
                return i + 2
            return i + 1
        if c == ">":
            return i + 1
        if c in "{}":
            nxt = s[i + 1] if i + 1 < self.n else "\n"
            if self.at_cmd and nxt in " \t\n;":
                if c == "{":
                    self.stack.append("brace")
                    return i + 1
                if self.frame() == "brace":
                    self.stack.pop()
                    self.at_cmd = False
                    return i + 1
            if self.probes:
                self.mark(i, i + 1, Context.UNQUOTED)
            self.word_done("")
            return i + 1
        m = _RUN.match(s, i)
        if m is None:  # pragma: no cover - every other character is handled above
            return i + 1
        end = m.end()
        if self.probes:
            self.mark(i, end, Context.UNQUOTED)
        if not self.at_cmd:
            # Arguments only: no keyword can start here, so the whole run is plain words.
            self.pending_op = False
            return end
        for w in _WORDS.finditer(s, i, end):
            if not self.at_cmd:
                break
            word = w.group()
            boundary = w.end() < end or end >= self.n or s[end] in " \t\r\n;&|)"
            if boundary and (w.start() == 0 or s[w.start() - 1] in " \t\n;&|({"):
                opened = _OPEN_KEYWORDS.get(word)
                closed = _CLOSE_KEYWORDS.get(word)
                if opened:
                    self.stack.append(opened)
                elif closed and self.frame() == closed:
                    self.stack.pop()
            self.word_done(word)
        self.pending_op = False
        return end

    def word_done(self, word: str) -> None:
        self.pending_op = False
        if word in _STAY_AT_COMMAND or (self.at_cmd and _ASSIGNMENT.match(word)):
            self.at_cmd = True
        else:
            self.at_cmd = False

    def newline(self, i: int) -> int:
        end = i
        if self.heredocs:
            end = self.heredoc_bodies(i)
        self.at_cmd = True
        if not self.stack and not self.pending_op:
            self.end_command(end)
        return end + 1

    def heredoc_bodies(self, i: int) -> int:
        pos = i + 1
        while self.heredocs:
            delimiter, strip_tabs = self.heredocs[0]
            found = False
            while pos < self.n:
                line_end = self.s.find("\n", pos)
                line_end = self.n if line_end < 0 else line_end
                line = self.s[pos:line_end]
                if self.probes:
                    self.mark(pos, line_end + 1, Context.HEREDOC)
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    found = True
                pos = line_end + 1
                if found:
                    break
            if not found:
                return self.n
            self.heredocs.pop(0)
        return pos - 1

    def dollar(self, i: int, context: Context) -> int:
        s = self.s
        nxt = s[i + 1] if i + 1 < self.n else ""
        if nxt == "(":
            if s.startswith("((", i + 1):
                self.stack.append("arith")
                if self.probes:
                    self.mark(i, i + 3, Context.UNSAFE)
                return i + 3
            self.stack.append("cmd")
            self.at_cmd = True
            return i + 2
        if nxt == "{":
            self.stack.append("param")
            if self.probes:
                self.mark(i, i + 2, Context.UNSAFE)
            return i + 2
        if nxt == "'" and context is Context.UNQUOTED:
            j = i + 2
            while j < self.n and s[j] != "'":
                j += 2 if s[j] == "\\" else 1
            if self.probes:
                self.mark(i, j + 1, Context.UNSAFE)
            if j >= self.n:
                self.scan.unclosed.append("$' quote")
                return self.n
            self.word_done("")
            return j + 1
        m = _NAME_CHARS.match(s, i + 1)
        end = m.end() if m else i + 1
        if self.probes:
            self.mark(i, end, context)
        if context is Context.UNQUOTED:
            self.word_done("")
        return end

    def double_quoted(self, i: int) -> int:
        m = _DQ_PLAIN.match(self.s, i)
        if m:
            if self.probes:
                self.mark(i, m.end(), Context.DOUBLE)
            return m.end()
        c = self.s[i]
        if c == '"':
            self.stack.pop()
            if self.probes:
                self.mark(i, i + 1, Context.UNQUOTED)
            if self.frame() == "top" or self.frame() in _UNQUOTED_FRAMES:
                self.word_done("")
            return i + 1
        if c == "\\":
            if self.probes:
                self.mark(i, i + 2, Context.DOUBLE)
            return i + 2
        if c == "`":
            self.stack.append("bt")
            return i + 1
        return self.dollar(i, Context.DOUBLE)

    def backquoted(self, i: int) -> int:
        j = i
        while j < self.n and self.s[j] != "`":
            j += 2 if self.s[j] == "\\" else 1
        if self.probes:
            self.mark(i, j + 1, Context.UNSAFE)
        if j >= self.n:
            return self.n
        self.stack.pop()
        if self.frame() != "dq":
            self.word_done("")
        return j + 1

    def parameter(self, i: int) -> int:
        # Inside ${...}: skip quoted parts and nested expansions until the closing brace.
        s = self.s
        depth = 1
        j = i
        while j < self.n:
            c = s[j]
            if c == "\\":
                j += 2
                continue
            if c == "'":
                k = s.find("'", j + 1)
                j = self.n if k < 0 else k + 1
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if self.probes:
            self.mark(i, j + 1, Context.UNSAFE)
        if j >= self.n:
            return self.n
        self.stack.pop()
        if self.frame() != "dq":
            self.word_done("")
        return j + 1

    def arithmetic(self, i: int) -> int:
        s = self.s
        depth = 0
        j = i
        while j < self.n:
            c = s[j]
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0 and s.startswith("))", j):
                    break
                depth = max(0, depth - 1)
            j += 1
        if self.probes:
            self.mark(i, j + 2, Context.UNSAFE)
        if j >= self.n:
            return self.n
        self.stack.pop()
        if self.frame() != "dq":
            self.word_done("")
        return j + 2


def scan(text: str, probes: list[int] | None = None) -> Scan:
    """Split `text` into comment lines and complete commands; report the context of each probed offset."""
    return _Scanner(text, probes or []).run()


def unbalanced(command: str) -> list[str]:
    """What is left open at the end of `command` (quotes, parentheses, heredocs...); empty when balanced."""
    return scan(command).unclosed


# -- where bash reads a word a second time -------------------------------------------------------------
#
# Quoting a value as one word protects it from the shell that reads the command line. It does not protect it
# where bash (or another program) reads that word again as code: arithmetic (`(( ))`, `$(( ))`, `[[ -eq ]]`,
# `let`, `declare -i`, array subscripts), `eval`, `source`, `trap`, the string after a shell's `-c`, an `ssh`
# remote command, `xargs`, `watch`, a heredoc or pipeline fed to a shell, or the command name itself. Below:
# a second, word-level reading of a command that finds those spans. It errs towards finding too many.

SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "ash", "mksh", "fish", "busybox"})
# Commands that run their arguments as code (or join them into a shell command line).
_CODE_RUNNERS = {
    "eval": "an argument of eval",
    "source": "an argument of source",
    ".": "an argument of . (source)",
    "let": "arithmetic (let)",
    "xargs": "an argument of xargs",
    "trap": "an argument of trap (run as code)",
    "watch": "an argument of watch (run through sh -c)",
    "parallel": "an argument of parallel (run through a shell)",
}
# Runners whose `-c` option takes a command string (besides the shells).
_DASH_C = frozenset({"su", "runuser", "flock", "script"})
_DECLARE = frozenset({"declare", "typeset", "local", "readonly", "export"})
# Builtins whose arguments are variable names: bash evaluates a name's subscript (`a[$(cmd)]`) as arithmetic.
_NAME_TAKERS = frozenset({"unset", "read", "mapfile", "readarray"})
# What in a script makes it read a value again: arithmetic, eval, source.
_SCRIPT_REREADS = re.compile(
    r"\(\(|\$\[|\blet\s|-(?:eq|ne|lt|le|gt|ge)\b|\b(?:declare|typeset|local)\s+-\w*i|\beval\b|\bsource\b|(?:^|[;&|]\s*)\.\s"
)
_ARITH_TESTS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
# Words that come before the command word without being it.
_LEADING_KEYWORDS = frozenset({"!", "time", "then", "do", "else", "elif", "if", "while", "until", "{", "}"})
_PREFIX_RUNNERS = frozenset({"exec", "command", "builtin", "nohup", "stdbuf", "ionice", "chronic", "unbuffer"})
_SSH_ARG_OPTIONS = frozenset("BbcDEeFIiJLlmOoPpQRSWw")
_SUDO_ARG_OPTIONS = frozenset("CDghpRrTUu")
_SUBSCRIPT_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\[")


@dataclass
class _Word:
    start: int
    end: int
    raw: str

    @property
    def text(self) -> str:
        """The word without its quotes (roughly: enough to recognise `eval`, `-c`, `-eq`)."""
        return self.raw.replace('"', "").replace("'", "").replace("\\", "")


@dataclass
class _Simple:
    words: list[_Word] = field(default_factory=list)
    pipeline: int = 0
    heredocs: list[tuple[int, int]] = field(default_factory=list)  # body spans fed to this command's stdin
    pattern: bool = False  # the words before a `case` pattern's `)`


class _Reader:
    """Splits a command into simple commands of words, recursing into `$(...)`, backquotes and `( )`."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.n = len(text)
        self.commands: list[_Simple] = []
        self.arith: list[tuple[int, int]] = []
        self.pipelines = 0
        self.pending_heredocs: list[tuple[str, bool, _Simple]] = []

    def matching_double_paren(self, i: int) -> int:
        """From just after `((`, the offset just after the matching `))` (or the end)."""
        depth = 0
        j = i
        while j < self.n:
            c = self.s[j]
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0 and self.s.startswith("))", j):
                    return j + 2
                depth = max(0, depth - 1)
            j += 1
        return self.n

    def skip_heredoc_bodies(self, i: int) -> int:
        """From the newline at `i`, skip the bodies of heredocs opened on its line; return the last offset."""
        pos = i + 1
        while self.pending_heredocs:
            delimiter, strip_tabs, owner = self.pending_heredocs.pop(0)
            body_start = pos
            while pos < self.n:
                end = self.s.find("\n", pos)
                end = self.n if end < 0 else end
                line = self.s[pos:end]
                pos = end + 1
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break
            owner.heredocs.append((body_start, min(pos, self.n)))
        return pos - 1

    def commands_until(self, i: int, close: str) -> int:
        """Read commands from `i` until `close` (")" or "`", or "" for the end); returns the offset after it."""
        s, n = self.s, self.n
        current = _Simple(pipeline=self.pipelines)
        word_start: int | None = None
        in_test = False

        def end_word(at: int) -> None:
            nonlocal word_start, in_test
            if word_start is not None:
                word = _Word(word_start, at, s[word_start:at])
                current.words.append(word)
                if len(current.words) == 1 and word.raw == "[[":
                    in_test = True
                elif in_test and word.raw == "]]":
                    in_test = False
                word_start = None

        def end_command(new_pipeline: bool, pattern: bool = False) -> None:
            nonlocal current
            current.pattern = pattern
            if current.words or current.heredocs:
                self.commands.append(current)
            pipeline = current.pipeline
            if new_pipeline:
                self.pipelines += 1
                pipeline = self.pipelines
            current = _Simple(pipeline=pipeline)

        while i < n:
            c = s[i]
            if close and c == close and not (close == ")" and in_test):
                end_word(i)
                end_command(True)
                return i + 1
            if c in " \t\r":
                end_word(i)
                i += 1
                continue
            if c == "\n":
                end_word(i)
                if self.pending_heredocs:
                    i = self.skip_heredoc_bodies(i)
                end_command(True)
                i += 1
                continue
            if c == "#" and word_start is None:
                end = s.find("\n", i)
                i = n if end < 0 else end
                continue
            if c == "\\":
                word_start = i if word_start is None else word_start
                i += 2
                continue
            if c == "'":
                word_start = i if word_start is None else word_start
                end = s.find("'", i + 1)
                i = n if end < 0 else end + 1
                continue
            if c == '"':
                word_start = i if word_start is None else word_start
                i = self.double_quoted(i + 1)
                continue
            if c == "`":
                word_start = i if word_start is None else word_start
                i = self.commands_until(i + 1, "`")
                continue
            if c == "$":
                word_start = i if word_start is None else word_start
                i = self.dollar(i)
                continue
            if in_test and c in "&|()<>":
                # Inside [[ ]] these are operators of the test, not of the command line.
                end_word(i)
                i += 2 if s[i : i + 2] in ("&&", "||") else 1
                continue
            if c == "(" and word_start is None:
                if s.startswith("((", i):
                    end = self.matching_double_paren(i + 2)
                    self.arith.append((i, end))
                    i = end
                    continue
                i = self.commands_until(i + 1, ")")
                continue
            if c == "(":
                # `arr=(...)`: an array assignment's list (its `[k]=v` subscripts are found below).
                depth = 0
                j = i
                while j < n:
                    if s[j] == "(":
                        depth += 1
                    elif s[j] == ")":
                        depth -= 1
                        if depth == 0:
                            break
                    j += 1
                i = j + 1
                continue
            if c in ";&|)":
                end_word(i)
                op = s[i : i + 2]
                pipe = c == "|" and op not in ("||",)
                # An unmatched `)` closes a `case` pattern: its words are patterns, not a command.
                end_command(not pipe, pattern=c == ")")
                i += 2 if op in ("&&", "||", ";;", "|&", ";&") else 1
                continue
            if c in "<>":
                end_word(i)
                if s.startswith("<<<", i):
                    i += 3
                    continue
                if s.startswith("<<", i):
                    m = _HEREDOC.match(s, i)
                    if m:
                        delimiter = m.group(2) if m.group(2) is not None else m.group(3)
                        if delimiter is None:
                            delimiter = m.group(4)
                        self.pending_heredocs.append((delimiter, m.group(1) == "-", current))
                        i = m.end()
                        continue
                i += 1
                continue
            word_start = i if word_start is None else word_start
            i += 1
        end_word(n)
        end_command(True)
        return n

    def double_quoted(self, i: int) -> int:
        s = self.s
        while i < self.n:
            c = s[i]
            if c == '"':
                return i + 1
            if c == "\\":
                i += 2
            elif c == "`":
                i = self.commands_until(i + 1, "`")
            elif c == "$":
                i = self.dollar(i)
            else:
                i += 1
        return self.n

    def dollar(self, i: int) -> int:
        s = self.s
        if s.startswith("$((", i):
            end = self.matching_double_paren(i + 3)
            self.arith.append((i, end))
            return end
        if s.startswith("$(", i):
            return self.commands_until(i + 2, ")")
        if s.startswith("$[", i):
            end = s.find("]", i)
            end = self.n if end < 0 else end + 1
            self.arith.append((i, end))
            return end
        if s.startswith("${", i):
            depth = 0
            j = i + 1
            while j < self.n:
                if s[j] == "{":
                    depth += 1
                elif s[j] == "}":
                    depth -= 1
                    if depth == 0:
                        return j + 1
                j += 1
            return self.n
        return i + 1


def _base(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def _command_index(words: list[_Word]) -> int | None:
    """The index of the word naming the program, past assignments, keywords and runners like sudo or env."""
    k = 0
    while k < len(words):
        text = words[k].text
        base = _base(text)
        skip = _ASSIGNMENT.match(words[k].raw) or _SUBSCRIPT_ASSIGNMENT.match(words[k].raw)
        if skip or text in _LEADING_KEYWORDS or base in _PREFIX_RUNNERS:
            k += 1
        elif base in ("sudo", "doas"):
            k += 1
            while k < len(words) and words[k].text.startswith("-"):
                opt = words[k].text
                if opt in ("-s", "-i", "--shell", "--login"):
                    return None  # `sudo -s CMD` runs CMD through a shell: handled by the caller
                takes = len(opt) == 2 and opt[1] in _SUDO_ARG_OPTIONS
                k += 2 if takes else 1
        elif base == "env":
            k += 1
            while k < len(words) and (words[k].text.startswith("-") or _ASSIGNMENT.match(words[k].text)):
                k += 2 if words[k].text in ("-u", "-C", "-S") else 1
        elif base in ("nice", "timeout"):
            k += 1
            while k < len(words) and words[k].text.startswith("-"):
                k += 2 if words[k].text in ("-n", "-s", "-k") else 1
            if base == "timeout":
                k += 1  # the duration
        else:
            return k
    return None


def _sudo_shell(words: list[_Word]) -> int | None:
    """For `sudo -s ...` / `sudo -i ...`: the index after the options, where the shell command starts."""
    for k, word in enumerate(words):
        if _base(word.text) in ("sudo", "doas"):
            j = k + 1
            shell = False
            while j < len(words) and words[j].text.startswith("-"):
                shell = shell or words[j].text in ("-s", "-i", "--shell", "--login")
                j += 1
            return j if shell else None
    return None


def _reread_spans(command: _Simple, pipeline: list[_Simple]) -> list[tuple[int, int, str]]:
    words = command.words
    spans: list[tuple[int, int, str]] = []
    if command.pattern:
        return spans

    def after(k: int, reason: str) -> None:
        for word in words[k:]:
            spans.append((word.start, word.end, reason))

    for word in words:
        m = _SUBSCRIPT_ASSIGNMENT.match(word.raw)
        if m and "=" in word.raw[m.end() :] and "]" in word.raw:
            spans.append((word.start, word.start + word.raw.index("]") + 1, "an array subscript (arithmetic)"))
        for sub in re.finditer(r"\[([^\]]*)\]=", word.raw):  # `arr=([k]=v)`
            spans.append((word.start + sub.start(), word.start + sub.end(), "an array subscript (arithmetic)"))
    # A shell's `-c` anywhere in the command (`docker exec c sh -c`, `find -exec bash -c`, `sudo bash -c`):
    # the word after it is a script.
    for k, word in enumerate(words):
        base = _base(word.text)
        if base in SHELLS or base in _DASH_C:
            j = k + 1
            while j < len(words) and words[j].text.startswith("-") and words[j].text != "--":
                opt = words[j].text
                if not opt.startswith("--") and "c" in opt[1:] and j + 1 < len(words):
                    target = words[j + 1]
                    spans.append((target.start, target.end, f"the command string of {base} {opt}"))
                    if _SCRIPT_REREADS.search(target.text):
                        # `bash -c '(( $1 > 100 ))' _ <v>`: an argument is safe only if the script reads it once.
                        reason = f"an argument of a {base} -c script that evaluates its arguments again"
                        spans.extend((w.start, w.end, reason) for w in words[j + 2 :])
                        spans.extend((w.start, w.end, reason) for w in words[:k] if _ASSIGNMENT.match(w.raw))
                    break
                j += 1
    shell_start = _sudo_shell(words)
    if shell_start is not None:
        after(shell_start, "a command run through sudo's shell")
    index = _command_index(words)
    if index is None:
        return spans
    head = words[index]
    spans.append((head.start, head.end, "the name of the command to run"))
    name = _base(head.text)
    rest = index + 1
    if name in _CODE_RUNNERS:
        after(rest, _CODE_RUNNERS[name])
    elif name in _DECLARE:
        options = [w.text for w in words[rest:] if w.text.startswith("-") and not w.text.startswith("--")]
        if any("i" in opt[1:] for opt in options):
            after(rest, f"{name} -i (arithmetic)")
        for word in words[rest:]:
            if not word.text.startswith("-"):  # the name, before any `=`
                cut = word.raw.find("=")
                spans.append((word.start, word.end if cut < 0 else word.start + cut, "a variable name"))
    elif name in _NAME_TAKERS:
        after(rest, f"a variable name given to {name} (bash evaluates its subscript)")
    elif name in ("printf", "test", "[") or name == "[[":
        for k in range(rest, len(words) - 1):
            if words[k].text == "-v":  # `printf -v NAME`, `[[ -v NAME ]]`: a variable name
                spans.append((words[k + 1].start, words[k + 1].end, "a variable name after -v"))
    if name == "[[" and any(w.text in _ARITH_TESTS for w in words[rest:]):
        after(rest, "an arithmetic comparison in [[ ]]")
    elif name == "ssh":
        k = rest
        while k < len(words) and words[k].text.startswith("-"):
            opt = words[k].text
            k += 2 if len(opt) == 2 and opt[1] in _SSH_ARG_OPTIONS else 1
        after(k + 1, "the remote command of ssh (run by a shell on the far side)")
    if name in SHELLS or name in ("ssh", "su", "runuser", "sudo", "doas"):
        # A heredoc fed to a shell is a script, and so is what the pipeline feeds into it.
        for start, end in command.heredocs:
            spans.append((start, end, f"a script fed to {name}"))
    position = next((i for i, c in enumerate(pipeline) if c is command), 0)
    for later in pipeline[position + 1 :]:
        later_index = _command_index(later.words)
        if later_index is None:
            continue
        later_name = _base(later.words[later_index].text)
        has_script = any(w.text.startswith("-") and "c" in w.text[1:] for w in later.words[later_index + 1 :])
        reader = (later_name in SHELLS and not has_script) or later_name in ("xargs", "parallel", "ssh")
        if reader:
            after(0, f"input piped into {later_name}")
            break
    return spans


def reread(text: str, probes: list[int]) -> dict[int, str]:
    """For each probed offset that bash (or a program it runs) would read again as code, why; others absent.

    `text` should have its placeholders masked as plain letters (see `blocktext.mask_placeholders`)."""
    if not probes:
        return {}
    reader = _Reader(text)
    reader.commands_until(0, "")
    spans: list[tuple[int, int, str]] = [(start, end, "arithmetic") for start, end in reader.arith]
    by_pipeline: dict[int, list[_Simple]] = {}
    for command in reader.commands:
        by_pipeline.setdefault(command.pipeline, []).append(command)
    for command in reader.commands:
        spans.extend(_reread_spans(command, by_pipeline[command.pipeline]))
    found: dict[int, str] = {}
    for probe in probes:
        for start, end, reason in spans:
            if start <= probe < end:
                found[probe] = reason
                break
    if any("arithmetic" in reason for _, _, reason in spans):
        # `n=<v>; (( n > 100 ))`: arithmetic evaluates a variable's value as an expression, so in a command that
        # does arithmetic anywhere, a value stored in any variable may be read again as code.
        for probe in probes:
            found.setdefault(probe, "a command that does arithmetic (a variable holding the value is evaluated)")
    return found
