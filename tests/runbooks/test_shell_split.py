"""Where one command ends: continuations, heredocs, loops, quotes, prompts and comments."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.runbooks.model import Runbook, StepKind
from warroom.runbooks.shell import Context, _Scanner, scan

Md = Callable[..., Runbook]


def commands(rb: Runbook) -> list[str]:
    return [s.command or "" for s in rb.steps if s.kind is StepKind.COMMAND]


def test_one_command_per_line_with_comment_descriptions(md: Md) -> None:
    rb = md("""
        ```bash
        # Look first
        uptime
        free -h

        # Then restart
        systemctl restart app
        ```
    """)
    assert commands(rb) == ["uptime", "free -h", "systemctl restart app"]
    assert [s.description for s in rb.steps] == ["Look first", "Look first", "Then restart"]


def test_backslash_continuation_and_trailing_operators_stay_one_command(md: Md) -> None:
    rb = md("""
        ```sh
        curl -s \\
          http://localhost/health
        ps aux |
          grep app &&
          echo found
        ```
    """)
    assert commands(rb) == ["curl -s \\\n  http://localhost/health", "ps aux |\n  grep app &&\n  echo found"]


def test_heredoc_is_part_of_its_command(md: Md) -> None:
    rb = md(
        """
        ```bash
        cat <<EOF > /tmp/x.conf
        a = 1
        # not a comment
        EOF
        cat <<-'END'
        {tab}tabbed
        {tab}END
        echo after
        ```
    """.replace("{tab}", "\t")
    )
    assert commands(rb) == [
        "cat <<EOF > /tmp/x.conf\na = 1\n# not a comment\nEOF",
        "cat <<-'END'\n\ttabbed\n\tEND",
        "echo after",
    ]


def test_loops_conditionals_and_groups_stay_one_command(md: Md) -> None:
    rb = md("""
        ```bash
        for host in a b c; do
          echo "$host"   # done is a word here
          echo done
        done
        if [ -f x ]; then
          echo yes
        fi
        case "$1" in
          start) echo s ;;
          stop) echo t ;;
        esac
        {
          echo grouped
        }
        while true; do break; done
        ```
    """)
    assert len(commands(rb)) == 5
    assert commands(rb)[0].endswith("  echo done\ndone")
    assert commands(rb)[2].endswith("esac")
    assert commands(rb)[4] == "while true; do break; done"


def test_multi_line_quotes_and_command_substitution(md: Md) -> None:
    rb = md("""
        ```bash
        psql -c "
          SELECT 1;
        "
        echo 'it''s
        two lines'
        x=$(
          date
        )
        echo "$(printf '%s' "a
        b")"
        ```
    """)
    assert len(commands(rb)) == 4
    assert commands(rb)[2] == "x=$(\n  date\n)"


def test_apostrophe_in_a_comment_does_not_open_a_quote(md: Md) -> None:
    rb = md("""
        ```bash
        # don't panic
        echo one # it's fine
        echo two
        ```
    """)
    assert commands(rb) == ["echo one # it's fine", "echo two"]
    assert rb.problems == []


def test_console_blocks_only_prompted_lines_are_commands(md: Md) -> None:
    rb = md("""
        ```console
        $ redis-cli ping
        PONG
        $ docker ps \\
        >   --all
        CONTAINER ID   IMAGE
        $ echo "multi
        line"
        multi
        ```
    """)
    steps = [s for s in rb.steps if s.kind is StepKind.COMMAND]
    assert [s.command for s in steps] == ["redis-cli ping", "docker ps \\\n  --all", 'echo "multi\nline"']
    assert [s.expected_output for s in steps] == ["PONG", "CONTAINER ID   IMAGE", "multi"]
    assert [s.line for s in steps] == [2, 4, 7]


def test_bash_block_with_prompts_is_read_like_console(md: Md) -> None:
    rb = md("""
        ```bash
        $ uptime
         10:00:00 up 3 days
        ```
    """)
    assert commands(rb) == ["uptime"]
    assert rb.steps[0].expected_output == " 10:00:00 up 3 days"


def test_untagged_fence_runs_only_when_it_looks_like_commands(md: Md) -> None:
    rb = md("""
        ```
        docker compose ps
        curl -f http://localhost:8080/health
        ```

        ```
        Status: investigating
        Impact: some users
        ```
    """)
    assert [s.kind for s in rb.steps] == [StepKind.COMMAND, StepKind.COMMAND, StepKind.REFERENCE]


def test_unbalanced_quote_is_reported_on_its_line(md: Md) -> None:
    rb = md("""
        ```bash
        echo ok
        echo "never closed
        echo more
        ```
    """)
    assert [(p.line, p.code) for p in rb.problems] == [(3, "unbalanced")]
    assert "double quote" in rb.problems[0].message


def test_scan_reports_quoting_context_of_positions() -> None:
    text = "a x 'b x' \"c x $(d x) ${e x}\" # x\ncat <<E\nx\nE"
    positions = [i for i, ch in enumerate(text) if ch == "x"]
    contexts = scan(text, positions).contexts
    assert [contexts[p] for p in positions] == [
        Context.UNQUOTED,
        Context.SINGLE,
        Context.DOUBLE,
        Context.UNQUOTED,
        Context.UNSAFE,
        Context.COMMENT,
        Context.HEREDOC,
    ]


_SHELL_PIECES = [
    *" \t\n\r\"'\\$`;&|()<>#{}=!-",
    "echo",
    "kubectl get pods",
    "x",
    "A=1",
    "for",
    "in",
    "do",
    "done",
    "if",
    "then",
    "fi",
    "case",
    "esac",
    "while",
    "time",
    "{ ",
    " }",
    "<<EOF\n",
    "EOF\n",
    "<<-'X'\n",
    "\tX\n",
    "$(",
    "${",
    "$((",
    "&&\n",
    "|\n",
    "\\\n",
    "# note\n",
    "\n",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_SHELL_PIECES), max_size=40).map("".join), st.data())
def test_the_one_match_path_for_plain_lines_scans_as_the_long_way_does(text: str, data: st.DataObject) -> None:
    probes = data.draw(st.lists(st.integers(0, len(text)), max_size=8))
    fast = scan(text, probes)
    try:
        _Scanner.simple_lines = False
        slow = scan(text, probes)
    finally:
        _Scanner.simple_lines = True
    assert fast == slow


def test_the_one_match_path_takes_plain_lines_only() -> None:
    text = "uptime\n  kubectl get pods -n app\nfor x in a b; do echo $x; done\nA=1 ls\n# note\ntime ls\n"
    calls: list[int] = []
    scanner = _Scanner(text, [])
    original = scanner.unquoted

    def unquoted(i: int) -> int:
        calls.append(i)
        return original(i)

    scanner.unquoted = unquoted  # type: ignore[method-assign]
    found = scanner.run()
    assert [text[item.start : item.end] for item in found.items] == [
        "uptime",
        "kubectl get pods -n app",
        "for x in a b; do echo $x; done",
        "A=1 ls",
        "# note",
        "time ls",
    ]
    # "uptime" and the kubectl line: one call each for all their words and the newline (after two for the
    # blanks before kubectl), and the comment line one with its newline.
    assert calls[:5] == [0, 7, 8, 9, text.index("for x")]
    assert text.index("# note") in calls and text.index("\ntime") not in calls
