"""Reading a schedule's calendar from an http(s)/webcal URL or an allowed local file, with bounded errors."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from warroom.errors import InvalidInput

MAX_CALENDAR = 900_000  # bytes; the same limit as a calendar uploaded as text


def _shown_url(url: str) -> str:
    """The URL as an error may show it: no credentials, no query (tokens ride there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return urlunsplit((parts.scheme, host + (f":{parts.port}" if parts.port else ""), parts.path, "", ""))


def _calendar_path(source: str, base_dir: Path | None) -> Path:
    raw = source[len("file:") :] if source.startswith("file:") else source
    raw = raw[2:] if raw.startswith("//") else raw  # file:///abs/path as well as file:/abs/path
    path = Path(raw)
    return path if path.is_absolute() or base_dir is None else base_dir / path


def fetch_ical(
    source: str,
    base_dir: Path | None = None,
    *,
    allowed_files: Sequence[Path] | None = None,
    field: str = "ical",
) -> str:
    """The text of a calendar at an http(s)/webcal URL, or in a local file.

    A local file is read only when `allowed_files` (warroom.yaml's `calendar_files`: files or folders) holds it
    after symbolic links are resolved; None means the source was written in warroom.yaml itself, which is the
    operator's own. No error quotes what was read: the answer of a wrong URL or file goes nowhere.
    """
    if source.startswith(("http://", "https://", "webcal://")):
        import httpx

        url = "https://" + source[len("webcal://") :] if source.startswith("webcal://") else source
        try:
            response = httpx.get(url, timeout=10.0, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            raise InvalidInput(
                f"Cannot fetch the calendar from {_shown_url(url)}: HTTP {exc.response.status_code}.", field=field
            ) from None
        except httpx.HTTPError as exc:
            raise InvalidInput(
                f"Cannot fetch the calendar from {_shown_url(url)}: {exc.__class__.__name__}.", field=field
            ) from None
        if len(response.content) > MAX_CALENDAR:
            raise InvalidInput(f"The calendar at {_shown_url(url)} is over {MAX_CALENDAR} bytes.", field=field)
        return response.text
    if "://" in source and not source.startswith("file:"):
        raise InvalidInput("A calendar source is an http(s) or webcal URL, or a file: path.", field=field)
    path = _calendar_path(source, base_dir)
    if allowed_files is not None and not _allowed(path, allowed_files):
        raise InvalidInput(
            "A calendar is read from a local file only when warroom.yaml lists it (or its folder) under"
            " calendar_files; otherwise give an http(s) URL.",
            field=field,
        )
    try:
        if path.stat().st_size > MAX_CALENDAR:
            raise InvalidInput(f"The calendar file {path} is over {MAX_CALENDAR} bytes.", field=field)
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot read the calendar {path}: {exc.strerror}.", field=field) from None
    except UnicodeDecodeError:
        raise InvalidInput(f"The calendar {path} is not UTF-8 text.", field=field) from None


def _allowed(path: Path, allowed: Sequence[Path]) -> bool:
    """True when `path`, links resolved, is one of `allowed` or inside one of them."""
    real = Path(os.path.realpath(path))
    for entry in allowed:
        target = Path(os.path.realpath(entry))
        if real == target or (target.is_dir() and real.is_relative_to(target)):
            return True
    return False


def calendar_allow_list(config: Any, base_dir: Path | None) -> list[Path]:
    """warroom.yaml's `calendar_files`, relative entries taken from the file's folder."""
    entries = [Path(e) for e in getattr(config, "calendar_files", []) or []]
    return [e if e.is_absolute() or base_dir is None else base_dir / e for e in entries]
