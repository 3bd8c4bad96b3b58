"""A report as JSON, as CSV (one table per section) or as the Markdown monthly retrospective."""

from __future__ import annotations

import csv
import io
import json
from html import escape
from typing import Any

from warroom.errors import InvalidInput
from warroom.incidents.severities import SeverityTable
from warroom.reports import charts
from warroom.reports.phases import PHASE_NAMES
from warroom.timeparse import format_duration

FORMATS = ("json", "csv")
PHASE_TITLES = {
    "detect": "Time to detect",
    "acknowledge": "MTTA (acknowledge)",
    "mitigate": "Time to mitigate",
    "recover": "Time to recover",
    "resolve": "MTTR (resolve)",
}


def to_json(report: dict[str, Any]) -> str:
    """The report (or one section of it) as indented JSON."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _rows(section: str, report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    if section == "incidents":
        header = ["group", "incidents"]
        for phase in PHASE_NAMES:
            header += [f"{phase}_{k}" for k in ("count", "median_s", "p90_s", "mean_s", "target_met", "target_share")]
        rows = []
        for group in report["incidents"]["groups"]:
            row: list[Any] = [group["group"], group["incidents"]]
            for phase in PHASE_NAMES:
                f = group["phases"][phase]
                row += [f["count"], f["median"], f["p90"], f["mean"], f["target_met"], f["target_share"]]
            rows.append(row)
        return header, rows
    if section == "trend":
        rows = []
        for bucket in report["trend"]:
            rows.append([bucket["bucket"], "(all)", bucket["incidents"]])
            rows += [[bucket["bucket"], g, n] for g, n in bucket["groups"].items()]
        return ["bucket", "group", "incidents"], rows
    if section == "noise":
        n = report["noise"]
        per = n["alerts_per_incident"]
        rows = [
            ["alerts", "", n["alerts"]],
            ["received", "", n["received"]],
            ["alerts_per_incident_median", "", per["median"]],
            ["alerts_per_incident_p90", "", per["p90"]],
            ["alerts_per_incident_mean", "", per["mean"]],
            ["flapping_alerts", "", n["flapping"]["alerts"]],
            ["flaps", "", n["flapping"]["flaps"]],
            ["pages", "", n["pages"]],
            ["pages_never_acknowledged", "", n["pages_never_acknowledged"]],
        ]
        rows += [["no_incident", k, v] for k, v in n["no_incident"].items()]
        rows += [["noisiest", a["name"], a["alerts"]] for a in n["noisiest"]]
        rows += [["flapping", f["name"], f["flaps"]] for f in n["flapping"]["top"]]
        return ["metric", "key", "value"], rows
    if section == "load":
        header = ["person", "timezone", "pages", "night_pages", "unacknowledged_pages", "acknowledged"]
        header += ["tta_median_s", "tta_p90_s", "tta_mean_s"]
        rows = []
        for p in report["load"]["people"]:
            t = p["time_to_acknowledge"]
            rows.append(
                [
                    p["person"],
                    p["timezone"],
                    p["pages"],
                    p["night_pages"],
                    p["unacknowledged_pages"],
                    p["acknowledged"],
                    t["median"],
                    t["p90"],
                    t["mean"],
                ]
            )
        return header, rows
    if section == "runbooks":
        header = ["runbook", "title", "uses", "incidents", "succeeded", "failed", "success_rate", "average_run_s"]
        header += ["resolve_with_count", "resolve_with_median_s", "resolve_with_mean_s"]
        header += ["resolve_without_count", "resolve_without_median_s", "resolve_without_mean_s"]
        rows = []
        for r in report["runbooks"]:
            w, wo = r["resolve_with"], r["resolve_without"]
            rows.append(
                [
                    r["runbook"],
                    r["title"],
                    r["uses"],
                    r["incidents"],
                    r["succeeded"],
                    r["failed"],
                    r["success_rate"],
                    r["average_run_seconds"],
                    w["count"],
                    w["median"],
                    w["mean"],
                    wo["count"],
                    wo["median"],
                    wo["mean"],
                ]
            )
        return header, rows
    a = report["actions"]
    return ["opened", "done", "overdue"], [[a["opened"], a["done"], a["overdue"]]]


def to_csv(section: str, report: dict[str, Any]) -> str:
    """One section as a CSV table with a header row; durations in seconds."""
    header, rows = _rows(section, report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        # A cell a spreadsheet would run as a formula (=, +, -, @ first) is kept as text.
        writer.writerow(["'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c for c in row])
    return out.getvalue()


def render_section(section: str, report: dict[str, Any], fmt: str) -> tuple[str, str]:
    """(body, media type) of one section in `fmt`."""
    if fmt == "json":
        return to_json({"period": report["period"], section: report[section]}), "application/json"
    if fmt == "csv":
        return to_csv(section, report), "text/csv; charset=utf-8"
    raise InvalidInput(f"Unknown format {fmt[:40]!r}: expected one of {', '.join(FORMATS)}.", field="format")


def _cell(value: Any) -> str:
    return escape(str(value)).replace("|", "\\|").replace("\n", " ")


def _dur(value: float | None) -> str:
    return format_duration(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def to_markdown(report: dict[str, Any], severities: SeverityTable) -> str:
    """The monthly retrospective: figures against targets, charts (embedded SVG), noise, load, runbooks, actions."""
    period = report["period"]
    lines = [
        f"# Incident retrospective: {period['since'][:10]} to {period['until'][:10]}",
        "",
        f"Incidents detected from {period['since']} to {period['until']}, grouped by {period['group_by']}"
        + ("" if period["include_drills"] else ", drills left out")
        + ". Medians first: a few long incidents make means mislead.",
        "",
        f"**Incidents:** {report['incidents']['total']}",
        "",
        "## Response against targets",
        "",
        "| Group | Incidents | Phase | Median | p90 | Mean | Met target |",
        "|---|---|---|---|---|---|---|",
    ]
    for group in report["incidents"]["groups"]:
        for phase in PHASE_NAMES:
            f = group["phases"][phase]
            met = f"{_pct(f['target_share'])} ({f['target_met']}/{f['target_judged']})" if f["target_judged"] else "-"
            lines.append(
                f"| {_cell(group['group'])} | {group['incidents']} | {PHASE_TITLES[phase]} | {_dur(f['median'])} | "
                f"{_dur(f['p90'])} | {_dur(f['mean'])} | {met} |"
            )
    lines += ["", "## Charts", ""]
    for name, alt in (("trend", "Incidents over time"), ("mtta", "MTTA per severity"), ("mttr", "MTTR per severity")):
        lines.append(f"![{alt}]({charts.data_uri(charts.render(name, report, severities))})")
        lines.append("")
    noise = report["noise"]
    per = noise["alerts_per_incident"]
    flap = noise["flapping"]
    lines += [
        "## Alert noise",
        "",
        f"- **Alerts:** {noise['alerts']} ({noise['received']} received)",
        f"- **Alerts per incident:** median {per['median'] if per['median'] is not None else '-'}, "
        f"p90 {per['p90'] if per['p90'] is not None else '-'}, mean {per['mean'] if per['mean'] is not None else '-'}",
        f"- **Flapping** (fired again within {flap['window_minutes']} min of resolving): {flap['alerts']} alerts, "
        f"{flap['flaps']} flaps",
        f"- **Alerts that opened no incident:** {noise['no_incident']['total']} (silenced "
        f"{noise['no_incident']['silenced']}, maintenance {noise['no_incident']['maintenance']}, inhibited "
        f"{noise['no_incident']['inhibited']}, other {noise['no_incident']['other']})",
        f"- **Pages never acknowledged:** {noise['pages_never_acknowledged']} of {noise['pages']}",
        "",
        "| Noisiest alert | Alerts | Received |",
        "|---|---|---|",
    ]
    lines += [f"| {_cell(a['name'])} | {a['alerts']} | {a['received']} |" for a in noise["noisiest"]] or ["| - | | |"]
    lines += [
        "",
        "## On-call load",
        "",
        "| Person | Pages | At night (22:00–07:00 their time) | Never acknowledged | "
        "Acknowledged | Median time to acknowledge |",
        "|---|---|---|---|---|---|",
    ]
    for p in report["load"]["people"]:
        lines.append(
            f"| {_cell(p['person'])} ({_cell(p['timezone'])}) | {p['pages']} | {p['night_pages']} | "
            f"{p['unacknowledged_pages']} | {p['acknowledged']} | {_dur(p['time_to_acknowledge']['median'])} |"
        )
    lines += [
        "",
        "## Runbook effectiveness",
        "",
        "| Runbook | Times used | Success rate | Avg time per run | "
        "Median MTTR with | Median MTTR without (same service and severity) |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["runbooks"]:
        w, wo = r["resolve_with"], r["resolve_without"]
        lines.append(
            f"| {_cell(r['title'])} | {r['uses']} | {_pct(r['success_rate'])} | {_dur(r['average_run_seconds'])} | "
            f"{_dur(w['median'])} ({w['count']}) | {_dur(wo['median'])} ({wo['count']}) |"
        )
    actions = report["actions"]
    lines += ["", "## Action items", ""]
    lines.append(f"Opened {actions['opened']}, done {actions['done']}, overdue {actions['overdue']}.")
    return "\n".join(lines) + "\n"
