"""The report's charts as hand-written SVG (no JavaScript): incidents per bucket, and MTTA and MTTR per severity
against each severity's target. Every label is escaped: a service named `<script>` is text."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from warroom.errors import NotFound
from warroom.incidents.severities import SeverityTable
from warroom.timeparse import format_duration

CHARTS = ("trend", "mtta", "mttr")
WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 70
BAR, TARGET, TEXT = "#4c72b0", "#c44e52", "#222"


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value (None: no data) and an optional target drawn as a line across it."""

    label: str
    value: float | None
    target: float | None = None


def _text(x: float, y: float, text: str, *, anchor: str = "middle", size: int = 11, rotate: bool = False) -> str:
    turn = f' transform="rotate(-40 {x:.1f} {y:.1f})"' if rotate else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{TEXT}"{turn}>'
        f"{escape(text)}</text>"
    )


def bar_chart(title: str, bars: Sequence[Bar], *, fmt: Any = str, legend: str | None = None) -> str:
    """An SVG bar chart; `fmt` writes a value as text (axis and bar labels)."""
    top = max([b.value or 0 for b in bars] + [b.target or 0 for b in bars] + [1.0])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
        _text(WIDTH / 2, 22, title, size=14),
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="{TEXT}"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="{TEXT}"/>',
        _text(LEFT - 6, TOP + 4, fmt(top), anchor="end", size=10),
        _text(LEFT - 6, TOP + plot_h, fmt(0), anchor="end", size=10),
    ]
    slot = plot_w / max(1, len(bars))
    rotate = len(bars) > 8
    every = max(1, len(bars) // 26)  # at most ~26 axis labels, whatever the number of bars
    for index, bar in enumerate(bars):
        x = LEFT + index * slot
        if bar.value is not None:
            h = plot_h * bar.value / top
            parts.append(
                f'<rect x="{x + slot * 0.15:.1f}" y="{TOP + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{h:.1f}" fill="{BAR}"><title>{escape(bar.label)}: {escape(fmt(bar.value))}</title></rect>'
            )
            if len(bars) <= 12:
                parts.append(_text(x + slot / 2, TOP + plot_h - h - 4, fmt(bar.value), size=10))
        if bar.target is not None:
            y = TOP + plot_h - plot_h * bar.target / top
            parts.append(
                f'<line x1="{x + slot * 0.05:.1f}" y1="{y:.1f}" x2="{x + slot * 0.95:.1f}" y2="{y:.1f}" '
                f'stroke="{TARGET}" stroke-width="2" stroke-dasharray="4 2"/>'
            )
        if index % every == 0:
            parts.append(
                _text(
                    x + slot / 2,
                    TOP + plot_h + 14,
                    bar.label[:24],
                    size=10,
                    rotate=rotate,
                    anchor="end" if rotate else "middle",
                )
            )
    if legend:
        parts.append(
            f'<line x1="{WIDTH - 200}" y1="{HEIGHT - 12}" x2="{WIDTH - 180}" y2="{HEIGHT - 12}" stroke="{TARGET}" '
            f'stroke-width="2" stroke-dasharray="4 2"/>'
        )
        parts.append(_text(WIDTH - 175, HEIGHT - 8, legend, anchor="start", size=10))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _count(value: float) -> str:
    return str(round(value))


def render(name: str, report: dict[str, Any], severities: SeverityTable) -> str:
    """The chart called `name` from a report that has its sections (trend; incidents grouped by severity)."""
    if name == "trend":
        bars = [Bar(b["bucket"], float(b["incidents"])) for b in report["trend"]]
        period = report["period"]["bucket"]
        return bar_chart(f"Incidents per {period}", bars, fmt=_count)
    if name in ("mtta", "mttr"):
        phase = "acknowledge" if name == "mtta" else "resolve"
        by_group = {g["group"]: g for g in report["incidents"]["groups"]}
        bars = []
        for severity in severities:
            target = (severity.acknowledge if name == "mtta" else severity.resolve).total_seconds()
            figures = by_group.get(severity.name, {}).get("phases", {}).get(phase, {})
            bars.append(Bar(severity.name, figures.get("median"), target))
        title = "Median time to acknowledge" if name == "mtta" else "Median time to resolve"
        return bar_chart(f"{title} per severity", bars, fmt=format_duration, legend="target")
    raise NotFound(f"No chart {name[:40]!r}: expected one of {', '.join(CHARTS)}.", field="name")


def data_uri(svg: str) -> str:
    """The SVG as a data: URI, to embed in Markdown as an image."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
