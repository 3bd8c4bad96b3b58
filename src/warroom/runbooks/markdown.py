"""The markdown-it block parser runbooks are read with: CommonMark's block rules and front matter, made cheaper
without changing a token."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from itertools import accumulate
from operator import add
from types import FunctionType, MappingProxyType
from typing import Any, Literal, cast

from markdown_it import MarkdownIt
from markdown_it.parser_block import ParserBlock
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType
from mdit_py_plugins.front_matter import front_matter_plugin

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


MD = _block_parser(setext=True)
# Setext headings (a line of text underlined with === or ---) are rare in runbooks, yet their rule runs at
# the start of every paragraph and reads the paragraph to its end a second time (~10% of markdown-it's
# time on the seeds). Documents without any line that could underline text use a parser without it.
MD_NO_SETEXT = _block_parser(setext=False)
# A superset of setext underlines: any indentation or blockquote markers (the line above is checked apart).
# Found by the newline before them: a literal first character lets `re` skip ahead, where `^` is tried at
# every position (three times slower).
_UNDERLINE = re.compile(r"\n[ \t>]*(?:=+|-+)[ \t]*$", re.MULTILINE)


def normalized(text: str) -> str:
    """`text` with the line endings markdown-it reads (a lone CR ends a line too) and no NUL: line numbers,
    the setext check and the closing-fence check then agree with its tokens."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


def may_have_setext(text: str) -> bool:
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
