"""Where bash reads a word a second time: the spans of a command where a quoted value would still be code.

Quoting a value as one word protects it from the shell that reads the command line. It does not protect it
where bash (or another program) reads that word again as code: arithmetic (`(( ))`, `$(( ))`, `[[ -eq ]]`,
`let`, `declare -i`, array subscripts), `eval`, `source`, `trap`, the string after a shell's `-c`, an `ssh`
remote command, `xargs`, `watch`, a heredoc or pipeline fed to a shell, or the command name itself. Here:
a second, word-level reading of a command that finds those spans. It errs towards finding too many.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from warroom.runbooks.shell import ASSIGNMENT, HEREDOC

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
                    m = HEREDOC.match(s, i)
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
        skip = ASSIGNMENT.match(words[k].raw) or _SUBSCRIPT_ASSIGNMENT.match(words[k].raw)
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
            while k < len(words) and (words[k].text.startswith("-") or ASSIGNMENT.match(words[k].text)):
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
                        spans.extend((w.start, w.end, reason) for w in words[:k] if ASSIGNMENT.match(w.raw))
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
