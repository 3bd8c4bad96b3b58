"""The `runbooks:` section of warroom.yaml and where the server looks for runbooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from warroom.config import ConfigError, Settings, load_config_file, parse_config_text
from warroom.runbooks.cache import RunbookCache, configured_folders
from warroom.runbooks.setup import LibraryLoader


def test_the_section_is_validated_with_lines():
    with pytest.raises(ConfigError) as info:
        parse_config_text("runbooks:\n  folders: [runbooks]\n  default_timeout: soon\n  colour: red\n")
    messages = [str(p) for p in info.value.problems]
    assert any(m.startswith("warroom.yaml:3: runbooks.default_timeout") for m in messages), messages
    assert any(m.startswith("warroom.yaml:4: runbooks.colour") for m in messages), messages
    config = parse_config_text("runbooks:\n  folders: [runbooks]\n")
    assert config.runbooks.folders == ["runbooks"] and config.runbooks.default_timeout == "5m"


def test_folders_are_relative_to_the_config_file_then_the_environment(tmp_path, monkeypatch):
    config_path = tmp_path / "etc" / "warroom.yaml"
    config_path.parent.mkdir()
    config_path.write_text("runbooks:\n  folders: [runbooks, /srv/more]\n")
    monkeypatch.setenv("WARROOM_RUNBOOK_DIRS", f"{tmp_path / 'extra'}:/srv/more")
    config = load_config_file(config_path)
    folders = configured_folders(config.runbooks.folders, config_path)
    assert folders == [tmp_path / "etc" / "runbooks", Path("/srv/more"), tmp_path / "extra"]


def test_a_missing_folder_is_reported_not_fatal(tmp_path):
    cache = RunbookCache([tmp_path / "nowhere"])
    assert cache.refresh().runbooks == []
    assert cache.last.missing == [str(tmp_path / "nowhere")]


def test_the_server_parses_on_first_use_or_when_the_engine_starts(runtime, tmp_path):
    from warroom.runbooks.setup import cache_of

    folder = tmp_path / "books"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n")
    cache = cache_of(runtime)
    cache.folders = [folder]
    assert cache.last.files == 0, "nothing parsed while the runtime was built"
    loader = LibraryLoader(runtime)
    loader.start()
    loader.stop()
    assert cache.last.files == 1 and cache.last.parsed == 1


def test_settings_do_not_change(tmp_path):
    # WARROOM_RUNBOOK_DIRS is read by the runbooks domain, not a Settings field (it is documented in docs/).
    assert "runbook_dirs" not in Settings.model_fields


def test_the_server_library_parses_with_the_collector_paused_and_as_load_does(tmp_path, monkeypatch, seeds_dir):
    import gc
    import shutil

    from warroom.runbooks import cache as cache_module
    from warroom.runbooks import library

    for seed in sorted(seeds_dir.glob("*")):
        shutil.copy(seed, tmp_path / f"{seed.stem}.md")
    states: list[bool] = []
    real_read = cache_module._read

    def read(path: Path) -> Any:
        states.append(gc.isenabled())
        return real_read(path)

    monkeypatch.setattr(cache_module, "_read", read)
    assert gc.isenabled()
    cached = RunbookCache([tmp_path]).refresh()
    assert gc.isenabled(), "the collector is back on after the refresh"
    assert states and not any(states), "every file was parsed with the collector paused"
    assert cached.runbooks == library.load([tmp_path]).runbooks
