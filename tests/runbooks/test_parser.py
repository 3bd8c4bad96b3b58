"""Front matter, fence options, headings, and the promise that parsing never raises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.runbooks.blocktext import parse_info
from warroom.runbooks.headings import clean_heading, repair_mojibake, role_of
from warroom.runbooks.model import Param, Role, Runbook, StepKind, StepOptions
from warroom.runbooks.parser import parse

Md = Callable[..., Runbook]


def test_front_matter_fields(md: Md) -> None:
    rb = md("""
        ---
        id: checkout-5xx
        title: Checkout returns 5xx
        services: checkout
        match:
          - alertname=HighErrorRate
          - 'env=~"prod|stag.*"'
        severity: P1
        owner: payments
        last_reviewed: 2026-01-15
        review_every: 90d
        params:
          - name: service
            description: compose service
            default: checkout
            pattern: '[a-z-]+'
          - name: REGION
        required_sections: [Diagnosis, Verification]
        team_channel: '#payments'
        ---
        # Something else
    """)
    front = rb.front
    assert (rb.id, rb.title) == ("checkout-5xx", "Checkout returns 5xx")
    assert front.services == ["checkout"]
    assert front.match == ["alertname=HighErrorRate", 'env=~"prod|stag.*"']
    assert (front.severity, front.owner) == ("P1", "payments")
    assert front.last_reviewed == date(2026, 1, 15) and front.review_every == timedelta(days=90)
    assert front.params == [Param("service", "compose service", "checkout", "[a-z-]+"), Param("REGION")]
    assert front.required_sections == ["Diagnosis", "Verification"]
    assert front.extra == {"team_channel": "#payments"}
    assert rb.problems == []


def test_without_front_matter_title_is_first_heading_and_id_the_file_stem(md: Md) -> None:
    rb = md("Intro text\n\n## 🚀 Deploy rollback\n", name="runbooks/rollback-deploy.md")
    assert (rb.id, rb.title) == ("rollback-deploy", "Deploy rollback")
    assert md("no headings at all", name="x/plain.markdown").title == "plain"


@pytest.mark.parametrize(
    ("front", "message"),
    [
        ("params: 5", "params must be a list"),
        ("last_reviewed: yesterday", "is not a date"),
        ("review_every: often", "review_every"),
        ("match: ['env=~\"(\"']", "Invalid regular expression"),
        ("params: [{name: x, pattern: '('}]", "pattern is not a regex"),
        ("- just a list", "must be a mapping"),
    ],
)
def test_bad_front_matter_values_are_problems(md: Md, front: str, message: str) -> None:
    rb = md(f"---\n{front}\n---\n# T\n")
    assert rb.title == "T"
    assert any(message in p.message for p in rb.problems), rb.problems


def test_fence_options() -> None:
    assert parse_info("bash {timeout=60 confirm auto verify}") == (
        "bash",
        StepOptions(timeout=60.0, confirm=True, auto=True, verify=True),
        [],
    )
    assert parse_info("sh {timeout=5m, confirm=false}")[1] == StepOptions(timeout=300.0)
    assert parse_info("bash{auto}")[:2] == ("bash", StepOptions(auto=True))
    lang, _, complaints = parse_info("bash {timeout=soon colour=red}")
    assert lang == "bash" and len(complaints) == 2
    assert parse_info("")[0] == ""


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ðŸš¨ Emergency Response Procedures", "Emergency Response Procedures"),
        ("ðŸ›¡ï¸ Recovery Procedures", "Recovery Procedures"),
        ("ðŸ“‹ Quick Reference Checklists", "Quick Reference Checklists"),
        ("⚡ Immediate Actions (First X Minutes)", "Immediate Actions (First X Minutes)"),
        ("2. Assessment", "Assessment"),
        ("1.1 Incident Detection", "Incident Detection"),
        ("Scenario 2: Database Connection Issues", "Database Connection Issues"),
        ("Phase 3: Resolution & Recovery (Ongoing)", "Resolution & Recovery (Ongoing)"),
        ("A. Common Commands", "Common Commands"),
        ("**Resolution**:", "Resolution"),
        ("P0 - Critical", "P0 - Critical"),
        ("404 errors", "404 errors"),
        ("Émergence", "Émergence"),
        ("Café résumé", "Café résumé"),
    ],
)
def test_clean_heading(raw: str, clean: str) -> None:
    assert clean_heading(raw) == clean


def test_repair_mojibake() -> None:
    assert repair_mojibake("ðŸš¨ x") == "🚨 x"
    assert repair_mojibake("â†’") == "→"
    assert repair_mojibake("Café") == "Café"


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("Detection", Role.DETECTION),
        ("Symptoms", Role.DETECTION),
        ("Triage", Role.ASSESSMENT),
        ("Immediate Actions (First 5 Minutes)", Role.MITIGATION),
        ("Containment", Role.MITIGATION),
        ("Investigation", Role.DIAGNOSIS),
        ("Troubleshooting", Role.DIAGNOSIS),
        ("Diagnosis & Resolution", Role.RESOLUTION),
        ("Common Fixes", Role.RESOLUTION),
        ("Rollback", Role.RECOVERY),
        ("Restore from backup", Role.RECOVERY),
        ("Recovery Verification", Role.VERIFICATION),
        ("Health Checks", Role.VERIFICATION),
        ("Stakeholder Communication", Role.COMMUNICATION),
        ("Post-Mortem", Role.POST_INCIDENT),
        ("Post-Incident Actions", Role.POST_INCIDENT),
        ("Escalation Paths", Role.ESCALATION),
        ("Emergency Contacts", Role.ESCALATION),
        ("Severity Levels", None),
        ("Overview", None),
    ],
)
def test_roles_across_wordings(title: str, role: Role | None) -> None:
    assert role_of(title) is role


def test_sections_inherit_roles_and_paths_skip_the_title(md: Md) -> None:
    rb = md("""
        # Title
        ## Diagnosis
        ### Database
        text
    """)
    assert [(s.path_str, s.role) for s in rb.sections] == [
        ("Title", None),
        ("Diagnosis", Role.DIAGNOSIS),
        ("Diagnosis › Database", Role.DIAGNOSIS),
    ]


def test_checklists_checked_state_and_numbered_prose(md: Md) -> None:
    rb = md("""
        ## Verify
        - [ ] Health checks passing
        - [x] Alert resolved
        * plain bullet is no step

        1. Tell support
        2. **Update** the status page
    """)
    assert [(s.kind, s.text, s.checked) for s in rb.steps] == [
        (StepKind.CHECK, "Health checks passing", False),
        (StepKind.CHECK, "Alert resolved", True),
        (StepKind.MANUAL, "Tell support", False),
        (StepKind.MANUAL, "Update the status page", False),
    ]


def test_unclosed_fence_still_loads_its_steps(md: Md) -> None:
    rb = md("# T\n```bash\nuptime\n")
    assert [s.command for s in rb.steps] == ["uptime"]
    assert [(p.line, p.code) for p in rb.problems] == [(2, "unclosed-fence")]


_PIECES = [*"#-*`[]x{}<>$'\"\\\n :=|&;()1.\t~ab", "```", "---\n", "ðŸ", "<name>", "{{ v }}", "- [ ] "]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=120).map("".join))
def test_parse_never_raises(text: str) -> None:
    rb = parse(text, "fuzz.md")
    assert rb.id == "fuzz"
    assert all(p.code != "parser" for p in rb.problems), rb.problems


def test_setext_headings_are_still_headings(md) -> None:
    runbook = md(
        """
        ---
        id: setext
        ---
        Detection
        =========
        Look at the dashboard.

        Resolution
        ----------
        ```bash
        systemctl status web
        ```

        ---

        - item
          Nested title
          ---
        """
    )
    titles = [s.title for s in runbook.sections]
    assert titles[:2] == ["Detection", "Resolution"]
    assert runbook.steps[0].section_path.endswith("Resolution")


def test_a_thematic_break_after_a_blank_line_is_not_a_heading(md) -> None:
    runbook = md("# Title\n\nSome text\n\n---\n\n## Next\n```bash\nuptime\n```\n")
    assert [s.title for s in runbook.sections] == ["Title", "Next"]


def test_the_parser_without_setext_gives_the_same_tokens_on_the_seeds(seeds_dir) -> None:
    from warroom.runbooks import markdown

    for path in sorted(seeds_dir.glob("*")):
        text = path.read_text(encoding="utf-8")
        assert not markdown.may_have_setext(text), path.name
        full = [(t.type, t.map, t.content) for t in markdown.MD.parse(text)]
        lean = [(t.type, t.map, t.content) for t in markdown.MD_NO_SETEXT.parse(text)]
        assert full == lean, path.name


def test_parsing_makes_no_reference_cycles(seeds_dir) -> None:
    # The parser pauses the cyclic collector (`gc_paused`): that is only safe while parsing leaves no
    # cycles behind for it to find. A cycle added later would pile up during a library load.
    import gc

    from warroom.runbooks import library

    texts = [path.read_text(encoding="utf-8") for path in sorted(seeds_dir.glob("*"))]
    texts += ["---\nid: [\n---\n# T\n", "---\nparams: 5\n---\n", "```bash\necho 'open\n", "x\n===\n- a\n  ---\n"]
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        runbooks = [parse(text, "cycles.md") for text in texts]
        runbooks += library.load([seeds_dir / "000_2a3b67ef9180dcad.txt"]).runbooks
        del runbooks
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()


def test_gc_paused_restores_the_collector_as_it_found_it() -> None:
    import gc

    from warroom.runbooks.parser import gc_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # someone else turned it off: leave it off
    finally:
        gc.enable()


def _stock_markdown_it(*disabled: str, html: bool = False) -> Any:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.front_matter import front_matter_plugin

    md = MarkdownIt("commonmark", {"maxNesting": 40, "html": html}).use(front_matter_plugin)
    return md.disable(list(disabled), ignoreInvalid=True)


def _token_stream(md: Any, text: str) -> list[tuple[Any, ...]]:
    return [(t.type, t.tag, t.nesting, t.map, t.level, t.content, t.markup, t.info, t.hidden) for t in md.parse(text)]


_BLOCK_PIECES = [
    *"#-*+_`~>[]<=|:.1 \t\nax",
    "```",
    "~~~",
    "---\n",
    "***\n",
    "1. ",
    "2) ",
    "- [ ] ",
    "    ",
    "<div>",
    "[a]: /u\n",
    "| a | b |\n|---|---|\n",
    "\n\n",
    "\r",
    "\r\n",
    "\x00",
]
_OURS = ["inline", "text_join", "reference", "html_block", "code"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_BLOCK_PIECES), max_size=80).map("".join))
def test_trying_only_the_rules_a_first_character_allows_gives_markdown_its_own_tokens(text: str) -> None:
    from warroom.runbooks import markdown

    assert _token_stream(markdown.MD, text) == _token_stream(_stock_markdown_it(*_OURS), text)
    assert _token_stream(markdown.MD_NO_SETEXT, text) == _token_stream(_stock_markdown_it(*_OURS, "lheading"), text)
    # The rules we switch off are exact too, should they ever be switched back on.
    every = markdown._dispatch_by_first_char(_stock_markdown_it("code", html=True).enable("table"))
    assert _token_stream(every, text) == _token_stream(_stock_markdown_it("code", html=True).enable("table"), text)


def test_the_first_character_dispatch_on_the_seeds(seeds_dir) -> None:
    from warroom.runbooks import markdown

    assert markdown.MD.block.ruler.get_active_rules()[0] == "first_char"
    stock = _stock_markdown_it(*_OURS, "lheading")
    for path in sorted(seeds_dir.glob("*")):
        text = path.read_text(encoding="utf-8")
        assert _token_stream(markdown.MD_NO_SETEXT, text) == _token_stream(stock, text), path.name


def test_the_first_character_dispatch_leaves_indented_code_alone() -> None:
    # markdown-it recognises indented code by a rule named "code" being active: such a parser is left as is.
    from warroom.runbooks import markdown

    md = markdown._dispatch_by_first_char(_stock_markdown_it())
    assert "code" in md.block.ruler.get_active_rules()
    assert [t.type for t in md.parse("    indented\n")] == ["code_block"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_BLOCK_PIECES), max_size=80).map("".join))
def test_the_cheaper_token_push_gives_tokens_equal_to_markdown_its_own(text: str) -> None:
    # Token equality compares every field (attrs, meta, block, children...) and the class.
    from warroom.runbooks import markdown

    text = markdown.normalized(text)
    assert markdown.MD.parse(text) == _stock_markdown_it(*_OURS).parse(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*_BLOCK_PIECES, " \t", "\t\t", "  \t", "x\t"]), max_size=80).map("".join))
def test_the_line_tables_are_markdown_its_own(text: str) -> None:
    from markdown_it.rules_block import StateBlock

    from warroom.runbooks import markdown

    text = markdown.normalized(text)
    ours = markdown._StateBlock(text, markdown.MD, {}, [])
    assert _markdown_it_fields(ours) == vars(StateBlock(text, markdown.MD, {}, []))


def _markdown_it_fields(state: Any) -> dict[str, Any]:
    """A `_StateBlock`'s fields but the one of its own (`tabs`, whether its text has a tab)."""
    fields = dict(vars(state))
    assert fields.pop("tabs") == ("\t" in state.src)
    return fields


def test_the_line_tables_on_edge_texts_and_the_seeds(seeds_dir) -> None:
    from markdown_it.rules_block import StateBlock

    from warroom.runbooks import markdown

    texts = ["", " ", "\n", "a", "a\n", "a\n  ", "a\n \t\n", "\t x\n  \t y\n\t\tz", " \t \tq\n"]
    texts += [path.read_text(encoding="utf-8") for path in sorted(seeds_dir.glob("*"))]
    for text in texts:
        ours = markdown._StateBlock(text, markdown.MD, {}, [])
        assert _markdown_it_fields(ours) == vars(StateBlock(text, markdown.MD, {}, [])), text


def test_the_cheaper_token_push_on_the_seeds(seeds_dir) -> None:
    from warroom.runbooks import markdown

    assert isinstance(markdown.MD.block, markdown._ParserBlock)
    assert isinstance(markdown.MD_NO_SETEXT.block, markdown._ParserBlock)
    stock = _stock_markdown_it(*_OURS, "lheading")
    for path in sorted(seeds_dir.glob("*")):
        text = path.read_text(encoding="utf-8")
        tokens = markdown.MD_NO_SETEXT.parse(text)
        assert tokens == stock.parse(text), path.name
        assert all(type(t) is type(tokens[0]) and t.block for t in tokens)


def test_block_tokens_share_one_read_only_empty_attrs_and_meta() -> None:
    from warroom.runbooks import markdown

    tokens = markdown.MD.parse("# T\n\n3. a\n4. b\n")
    assert all(t.meta is markdown._EMPTY for t in tokens)
    ordered = next(t for t in tokens if t.type == "ordered_list_open")
    assert ordered.attrs == {"start": 3} and ordered.attrs is not markdown._EMPTY  # replaced, as markdown-it does
    assert tokens[0].attrs is markdown._EMPTY and tokens[0].attrs == {}
    with pytest.raises(TypeError):
        tokens[0].attrSet("class", "x")  # a rule writing in place fails loudly instead of changing every token
    assert markdown._EMPTY == {} and tokens[1].attrs == {}


def test_the_cheaper_token_push_is_not_used_when_token_changes(monkeypatch) -> None:
    from warroom.runbooks import markdown

    monkeypatch.setattr(markdown, "_TOKEN_FIELDS", (*markdown._TOKEN_FIELDS, "new_field"))
    md = markdown._use_cheaper_tokens(_stock_markdown_it())
    assert not isinstance(md.block, markdown._ParserBlock)
    assert [t.type for t in md.parse("# T\n")] == ["heading_open", "inline", "heading_close"]
    assert [t.type for t in markdown._use_cheaper_tokens(_stock_markdown_it()).parse("")] == []


def test_the_rules_run_as_copies_that_write_no_debug_line(caplog) -> None:
    import logging

    from mdit_py_plugins.front_matter.index import _front_matter_rule

    from warroom.runbooks import markdown

    text = "---\nid: x\n---\n# T\n\n- a\n\n> q\n\n```sh\nls\n```\n"
    with caplog.at_level(logging.DEBUG, logger="markdown_it"):
        stock = _stock_markdown_it(*_OURS).parse(text)
        assert any(r.getMessage().startswith("entering list") for r in caplog.records)
        caplog.clear()
        assert markdown.MD.parse(text) == stock
        assert not caplog.records
    assert markdown._without_debug_log(_front_matter_rule) is _front_matter_rule  # no LOGGER: left as it is


_UNDERLINE_PIECES = [*_BLOCK_PIECES, "=", "==\n", "-\n", "> ---\n", "  ===  \n"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_UNDERLINE_PIECES), max_size=60).map("".join))
def test_a_document_without_an_underline_parses_the_same_without_the_setext_rule(text: str) -> None:
    from warroom.runbooks import markdown

    text = markdown.normalized(text)  # as parse() gives it
    if not markdown.may_have_setext(text):
        assert _token_stream(markdown.MD_NO_SETEXT, text) == _token_stream(markdown.MD, text)


def test_a_closed_fence_in_a_quote_is_not_reported_unclosed(md: Md) -> None:
    rb = md("""
        # T

        > Note
        > ```bash
        > uptime
        > ```

        > > ```bash
        > > df -h
        > > ```

        - > ```bash
          > free -m
          > ```
    """)
    assert [s.command for s in rb.steps] == ["uptime", "df -h", "free -m"]
    assert rb.problems == []
    # One that the quote ends before it is closed still is.
    unclosed = md("> ```bash\n> uptime\n\nafter\n")
    assert [(p.line, p.code) for p in unclosed.problems] == [(1, "unclosed-fence")]


def test_a_file_with_old_mac_line_endings_reads_like_any_other(md: Md) -> None:
    # markdown-it ends a line at a lone CR too; the setext and closing-fence checks must see the same lines.
    text = "# T\n\nDetection\n=========\nLook.\n\n```bash\nuptime\n```\n"
    lf, cr = parse(text, "lf.md"), parse(text.replace("\n", "\r"), "cr.md")
    assert [s.title for s in cr.sections] == [s.title for s in lf.sections] == ["T", "Detection"]
    assert cr.problems == lf.problems == []
    assert [(s.command, s.line) for s in cr.steps] == [(s.command, s.line) for s in lf.steps] == [("uptime", 8)]


# Without a tab, lines are cut by `_StateBlock.getLines`'s slices: nested lists and quotes move line starts.
_NESTED_PIECES = [p for p in _BLOCK_PIECES if "\t" not in p] + ["  - ", "   1. ", "> - ", "- > ", "  ", "\n   ", "10) "]
_NESTED_PIECES += ["###### ", "####### ", "#x", " ## a ## \n", "# #\n", "- - -\n", "_ _ _\n", "* *\n", "--\n"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_NESTED_PIECES), max_size=80).map("".join))
def test_our_block_parser_gives_markdown_its_own_tokens(text: str) -> None:
    from warroom.runbooks import markdown

    text = markdown.normalized(text)
    assert markdown.MD.parse(text) == _stock_markdown_it(*_OURS).parse(text)
    assert markdown.MD_NO_SETEXT.parse(text) == _stock_markdown_it(*_OURS, "lheading").parse(text) or (
        markdown.may_have_setext(text)
    )


def test_our_line_cutting_runs_without_tabs_and_markdown_its_with_them(monkeypatch) -> None:
    from markdown_it.rules_block import StateBlock

    from warroom.runbooks import markdown

    lines: list[int] = []
    get_lines = StateBlock.getLines
    monkeypatch.setattr(StateBlock, "getLines", lambda *args: lines.append(1) or get_lines(*args))
    tokens = markdown.MD.parse("- a\n- b\n\npara\n")
    assert [t.content for t in tokens if t.type == "inline"] == ["a", "b", "para"]
    assert not lines  # without a tab, `_StateBlock.getLines` cut every line itself
    markdown.MD.parse("- a\n-\tb\n")
    assert lines  # with a tab, markdown-it's own
