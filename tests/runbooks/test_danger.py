"""Every dangerous pattern is recognised, harmless look-alikes are not, and dangerous steps always ask."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.runbooks import danger
from warroom.runbooks.danger import command_dangers, text_dangers
from warroom.runbooks.model import Runbook
from warroom.runbooks.plan import plan

Md = Callable[..., Runbook]


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("rm -rf ./tmp/*", "rm -rf"),
        ("rm -fr /var/cache/app", "rm -rf"),
        ("sudo rm -r -f build", "rm -rf"),
        ("redis-cli FLUSHDB", "redis FLUSHDB/FLUSHALL"),
        ("redis-cli flushall", "redis FLUSHDB/FLUSHALL"),
        ('psql -c "DROP TABLE users"', "SQL DROP"),
        ('psql -c "drop database app"', "SQL DROP"),
        ('psql -c "TRUNCATE TABLE events"', "SQL TRUNCATE"),
        ('psql -c "DELETE FROM sessions"', "SQL DELETE without WHERE"),
        ('psql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"', "pg_terminate_backend"),
        ("docker system prune -f", "docker system prune"),
        ("docker volume prune", "docker system prune"),
        ("docker compose down", "docker compose down"),
        ("docker-compose -f prod.yml down -v", "docker compose down"),
        ("kubectl delete pod web-1", "kubectl delete"),
        ("kubectl -n prod delete deployment web", "kubectl delete"),
        ("systemctl stop nginx", "systemctl stop/restart"),
        ("sudo systemctl restart docker", "systemctl stop/restart"),
        ("git revert HEAD", "git revert/reset --hard/push"),
        ("git reset --hard origin/main", "git revert/reset --hard/push"),
        ("git push origin main", "git revert/reset --hard/push"),
        ("truncate -s 0 ./logs/app.log", "truncate -s 0"),
        ("docker compose up -d --force-recreate", "--force"),
        ("helm upgrade app ./chart --force", "--force"),
        ("kafka-topics --delete --topic t", "--delete"),
        ("mkfs.ext4 /dev/sdb1", "mkfs"),
        ("dd if=/dev/zero of=/dev/sda bs=1M", "dd of="),
        ("iptables -F", "iptables"),
        ("ip6tables -F", "iptables"),  # the quick pre-check once let ip6tables through unflagged
    ],
)
def test_dangerous_commands(command: str, reason: str) -> None:
    assert reason in command_dangers(command)


@pytest.mark.parametrize(
    "command",
    [
        "rm ./tmp/one-file",
        "docker compose ps",
        "docker compose restart web",
        'psql -c "DELETE FROM sessions WHERE expires < now()"',
        'psql -c "SELECT count(*) FROM pg_stat_activity"',
        "systemctl status nginx",
        "git log --oneline -10",
        "kubectl get pods",
        "redis-cli ping",
        "curl -f http://localhost/health",
        "grep -i dropped /var/log/syslog",
        "docker ps --format '{{.Names}}'",
    ],
)
def test_harmless_commands(command: str) -> None:
    assert command_dangers(command) == []


@pytest.mark.parametrize(
    "text",
    [
        "Flush problematic data (CAUTION)",
        "WARNING: this drops data",
        "Restart database (last resort)",
        "This is destructive",
        "DANGER zone",
        "Warning: slow",
        "caution!",
    ],
)
def test_warning_words_near_a_step(text: str) -> None:
    assert text_dangers(text)


@pytest.mark.parametrize("text", ["Check warnings in the log", "Restart the service", "Show dangers list"])
def test_ordinary_words_are_no_warning(text: str) -> None:
    assert text_dangers(text) == []


def test_text_before_a_block_marks_all_its_commands(md: Md) -> None:
    rb = md("""
        ## Reset

        **WARNING:** these wipe the cache.

        ```bash
        redis-cli info
        redis-cli config resetstat
        ```

        ```bash
        redis-cli info
        ```
    """)
    assert [s.dangerous for s in rb.steps] == [True, True, False]


def test_dangerous_steps_are_never_auto_and_always_ask(md: Md) -> None:
    rb = md("""
        ```bash {auto timeout=30}
        docker system prune -f
        ```

        ```bash {auto}
        docker compose ps
        ```

        ```bash {confirm}
        docker compose restart web
        ```
    """)
    prune, ps, restart = plan(rb.steps, {})
    assert prune.step.options.auto is False and prune.step.options.timeout == 30
    assert prune.needs_confirmation and not prune.may_run_unattended
    assert ps.may_run_unattended and not ps.needs_confirmation
    assert restart.needs_confirmation and not restart.step.dangerous
    assert [p.code for p in rb.problems] == ["auto-dangerous"]


_DANGER_PIECES = [
    *["rm", "-rf", "-r", "-f", "--force", "--force-recreate", "FLUSHDB", "drop table", "DROP VIEW", "truncate"],
    *["-s 0", "delete from t", "DELETE FROM t", "where", "kubectl", "delete", "docker", "compose", "down"],
    *["system prune", "systemctl", "restart", "git", "push", "reset --hard", "mkfs.xfs", "dd", "of=/dev/sdb"],
    *["iptables", "ip6tables", "caution", "WARNING", "Danger!", "dangerous", "last resort", "cannot be undone"],
    # The characters outside ASCII that match an ASCII letter when case is ignored: `ſ` is an `s` to `re`.
    *["\u0130", "\u0131", "\u017f", "\u212a", "FLU\u017fHALL", "warn\u0131ng:", "la\u017ft re\u017fort", "\u00e9"],
    *[" ", " ", ";", "\n", ":", ")", "x", "-"],
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_DANGER_PIECES), max_size=12).map("".join))
def test_the_quick_word_check_never_hides_a_pattern_match(text: str) -> None:
    # Each pattern runs only when its words are in the lowercased text: the answer must be the one the
    # patterns alone give.
    expected = [reason for reason, _, pattern in danger._COMMAND_PATTERNS if pattern.search(text)]
    if any(not danger._WHERE.search(s) for s in danger._DELETE_FROM.findall(text)):
        expected.append("SQL DELETE without WHERE")
    assert command_dangers(text) == expected
    assert (
        text_dangers(text) == [f"marked {m.group(0).strip(' :!)')!r}" for m in danger._TEXT_PATTERN.finditer(text)][:1]
    )
