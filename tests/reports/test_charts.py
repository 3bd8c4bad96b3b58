"""The SVG charts draw any label as text: a service named `<script>` never becomes markup."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from warroom.reports.charts import Bar, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_labels_and_titles_are_text_never_markup():
    evil = '<script>alert("x")</script>'
    svg = bar_chart(f"Incidents of {evil}", [Bar(evil, 3.0, 2.0), Bar("db & co", None)], fmt=str)
    root = ET.fromstring(svg)  # well-formed: an unescaped `&` or `<` would not parse
    assert root.find(f".//{SVG}script") is None
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert f"Incidents of {evil}" in texts and evil[:24] in texts and "db & co" in texts
    assert root.find(f"{SVG}title").text == f"Incidents of {evil}"  # type: ignore[union-attr]


def test_a_bar_is_as_tall_as_its_share_of_the_largest_value():
    root = ET.fromstring(bar_chart("t", [Bar("a", 10.0), Bar("b", 5.0)], fmt=str))
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    heights = [float(r.get("height", "0")) for r in bars]
    assert heights[0] == 2 * heights[1] > 0
