"""Cross-checks of the on-call sections of warroom.yaml, each problem with its line (`warroom config check`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.configcheck import ConfigProblem, line_of
from warroom.oncall.service import check_layers

if TYPE_CHECKING:
    import yaml

    from warroom.config import ConfigFile


class _Problems:
    def __init__(self, root: yaml.Node | None, path: str) -> None:
        self.root, self.path = root, path
        self.items: list[ConfigProblem] = []

    def add(self, loc: tuple[int | str, ...], message: str) -> None:
        self.items.append(ConfigProblem(self.path, line_of(self.root, loc), ".".join(str(p) for p in loc), message))


def _duplicates(problems: _Problems, section: str, ids: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    for index, ident in enumerate(ids):
        if ident in seen:
            problems.add((section, index, "id"), f"duplicate {section[:-1]} {ident!r}")
        seen.add(ident)
    return seen


def check_oncall(parsed: ConfigFile, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """Unknown users, teams, schedules and policies; levels without targets; overlapping layers ..."""
    from warroom.notify.apprise_send import check_url

    problems = _Problems(root, path)
    users = _duplicates(problems, "users", (u.id for u in parsed.users))
    teams = _duplicates(problems, "teams", (t.id for t in parsed.teams))
    schedules = _duplicates(problems, "schedules", (s.id for s in parsed.schedules))
    policies = _duplicates(problems, "policies", (p.id for p in parsed.policies))
    services = {s.name for s in parsed.services}
    channels = {t.id for t in parsed.teams if t.channel}

    for u_index, user in enumerate(parsed.users):
        labels: set[str] = set()
        for c_index, contact in enumerate(user.contact_list()):
            if contact.label in labels:
                problems.add(("users", u_index, "contacts", c_index), f"two contacts are labelled {contact.label!r}")
            labels.add(contact.label or "")
            problem = check_url(contact.url)
            if problem:
                problems.add(("users", u_index, "contacts", c_index), problem)
        for r_index, rule in enumerate(user.rules):
            if rule.contacts != "all":
                for label in rule.contacts:
                    if label not in labels:
                        problems.add(
                            ("users", u_index, "rules", r_index, "contacts"),
                            f"rule names contact {label!r}; {user.id} has {', '.join(sorted(labels)) or 'none'}",
                        )

    for t_index, team in enumerate(parsed.teams):
        for m_index, member in enumerate(team.members):
            if member not in users:
                problems.add(("teams", t_index, "members", m_index), f"unknown user {member!r}")
        if team.policy is not None and team.policy not in policies:
            problems.add(("teams", t_index, "policy"), f"unknown policy {team.policy!r}")
        if team.channel is not None:
            problem = check_url(team.channel)
            if problem:
                problems.add(("teams", t_index, "channel"), problem)
        if services:
            for s_index, service in enumerate(team.services):
                if service not in services:
                    problems.add(("teams", t_index, "services", s_index), f"unknown service {service!r}")

    base_dir = Path(path).parent
    for s_index, schedule in enumerate(parsed.schedules):
        for l_index, layer in enumerate(schedule.layers):
            for p_index, participant in enumerate(layer.rotation.participants):
                if participant not in users:
                    problems.add(
                        ("schedules", s_index, "layers", l_index, "rotation", "participants", p_index),
                        f"unknown user {participant!r}",
                    )
        for l_index, message in check_layers(schedule.layers):
            problems.add(("schedules", s_index, "layers", l_index), message)
        if not schedule.layers and not schedule.ical:
            problems.add(("schedules", s_index), f"schedule {schedule.id!r} has no layer and no calendar")
        if schedule.ical and "://" not in schedule.ical:
            ics = Path(schedule.ical.removeprefix("file:"))
            ics = ics if ics.is_absolute() else base_dir / ics
            if not ics.is_file():
                problems.add(("schedules", s_index, "ical"), f"calendar file {str(ics)!r} does not exist")

    known: dict[str, set[str]] = {"user": users, "schedule": schedules, "team": teams, "channel": channels}
    for p_index, policy in enumerate(parsed.policies):
        if not policy.levels:
            problems.add(("policies", p_index), f"policy {policy.id!r} has no levels")
        for l_index, level in enumerate(policy.levels):
            if not level.notify:
                problems.add(("policies", p_index, "levels", l_index, "notify"), "level has no target")
            for t_index, target in enumerate(level.notify):
                kind, _, ref = target.partition(":")
                if ref not in known.get(kind, set()):
                    what = "team with a channel" if kind == "channel" else kind
                    problems.add(("policies", p_index, "levels", l_index, "notify", t_index), f"unknown {what} {ref!r}")
            severities = {s.name.upper() for s in parsed.severity_table()}
            if level.when is not None:
                for severity in level.when.severities():
                    if severity not in severities:
                        problems.add(
                            ("policies", p_index, "levels", l_index, "when", "severity"),
                            f"unknown severity {severity!r}: expected one of {', '.join(sorted(severities))}",
                        )
    return problems.items


def review_oncall(parsed: ConfigFile, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """What only `warroom config check` reports: routes naming policies that do not exist, and severities that
    page while no policy is defined (loading accepts both: an alert is never refused over paging, and policies
    may come from the API)."""
    known = sorted(p.id for p in parsed.policies)
    problems = [
        ConfigProblem(
            path,
            line_of(root, ("routes", index, "policy")),
            f"routes.{index}.policy",
            f"unknown policy {route.policy!r}: "
            + (f"expected one of {', '.join(known)}" if known else "no policy is defined under policies:"),
        )
        for index, route in enumerate(parsed.routes)
        if route.policy and route.policy not in known
    ]
    paging = [s.name for s in parsed.severity_table() if s.page]
    if paging and not parsed.policies:
        problems.append(
            ConfigProblem(
                path,
                None,
                "",
                f"severities {', '.join(paging)} page, but no policy is defined: nobody will be paged "
                "(define a policy called `default`, see docs/oncall.md)",
                level="warning",
            )
        )
    return problems
