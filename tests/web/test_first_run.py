"""The first `warroom serve` on a database without accounts creates `admin` and shows its password once."""

from __future__ import annotations

import stat

import pytest
from argon2 import PasswordHasher

from warroom.auth import accounts
from warroom.server import show_first_account

pytestmark = pytest.mark.backend("sqlite")


def test_on_a_terminal_the_password_is_printed_once_and_works(runtime, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    show_first_account(runtime, runtime.settings)
    shown = capsys.readouterr()
    password = next(line.split(":", 1)[1].strip() for line in shown.out.splitlines() if "password:" in line)
    assert password not in shown.err  # not in the log
    with runtime.db.session() as session:
        admin = accounts.require(session, "admin")
        assert admin.role == "admin" and PasswordHasher().verify(admin.password_hash, password)
    show_first_account(runtime, runtime.settings)  # a second start: accounts exist, nothing is shown
    assert "password" not in capsys.readouterr().out
    assert not (runtime.settings.data_dir / "admin-password").exists()


def test_off_a_terminal_the_password_goes_to_a_private_file(runtime, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    path = show_first_account(runtime, runtime.settings)
    assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600
    password = path.read_text().strip()
    shown = capsys.readouterr()
    assert password not in shown.out and password not in shown.err
    with runtime.db.transaction() as session:
        assert accounts.login_with_password(
            session, username="admin", password=password, remote_addr="127.0.0.1", now=runtime.clock.now()
        )
