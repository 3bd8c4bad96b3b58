"""The default severity targets the README's table promises are the ones the API serves (and reports measure)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
UNITS = {"min": 60, "h": 3600, "d": 86400}


def _seconds(text: str, unit: str | None) -> float:
    """'15 min', '1 h', or a bare '15' in `unit`."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(min|h|d)?\s*", text)
    assert match, f"cannot read a duration in {text!r}"
    number, own = match.groups()
    assert own or unit, f"{text!r} has no unit"
    return float(number) * UNITS[own or unit]


def _unit_of(text: str) -> str | None:
    found = re.findall(r"\b(min|h|d)\b", text)
    return found[-1] if found else None


def _phases(cell: str) -> tuple[list[float], float]:
    """'2 + 3 + 5 = 10 min', '15 + 30 + 60 min, total 2 h', '1 h + 8 h + 1 d': the three phases and the total."""
    total_text: str | None = None
    if "=" in cell:
        cell, total_text = cell.split("=")
    elif ", total" in cell:
        cell, total_text = cell.split(", total")
    unit = _unit_of(cell) or _unit_of(total_text or "")
    phases = [_seconds(term, unit) for term in cell.split("+")]
    return phases, _seconds(total_text, None) if total_text else sum(phases)


def documented() -> dict[str, dict[str, object]]:
    """The README's default severity table, row by row."""
    rows: dict[str, dict[str, object]] = {}
    for line in README.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 7 or not re.fullmatch(r"P\d", cells[0]):
            continue
        name, _meaning, ack, respond, total, update, pages = cells
        (detect, mitigate, recover), resolve = _phases(total)
        rows[name] = {
            "targets": {
                "acknowledge": _seconds(ack, None),
                "response": _seconds(respond, None),
                "detection": detect,
                "mitigation": mitigate,
                "recovery": recover,
                "resolve": resolve,
            },
            "update_every": None if update == "-" else _seconds(update, None),
            "page": {"yes": True, "no": False}[pages],
        }
    return rows


def test_the_readme_table_is_what_the_api_serves(api):
    promised = documented()
    assert sorted(promised) == ["P0", "P1", "P2", "P3", "P4"], "the README's severity table was not found"
    served = {s["name"]: s for s in api.get("/api/v1/severities").json()}
    assert sorted(served) == sorted(promised)
    for name, row in promised.items():
        got = {key: served[name][key] for key in row}
        assert got == row, f"{name}: README says {row}, the API serves {got}"
