"""Delivery knows no policy: no module of warroom.notify imports the on-call domain, not even inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import warroom.notify


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def test_notify_imports_nothing_of_oncall():
    folder = Path(warroom.notify.__path__[0])
    offending = [
        f"{path.name}:{line} imports {name}"
        for path in sorted(folder.glob("*.py"))
        for line, name in _imports(path)
        if name == "warroom.oncall" or name.startswith("warroom.oncall.")
    ]
    assert len(list(folder.glob("*.py"))) > 5  # the folder really is notify's
    assert offending == []


def test_a_runtime_wires_delivery_to_paging(runtime):
    # Delivery reports back (a stale page, a failed page, a link acknowledging) through what oncall registers.
    from warroom.notify import escalations
    from warroom.oncall.reactions import ForDelivery

    with runtime.db.session() as session:
        assert isinstance(escalations.of(session), ForDelivery)
