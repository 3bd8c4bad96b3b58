"""`warroom demo`: the command; the walk itself is in walk.py."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import httpx
import typer
from rich.markup import escape

from warroom.cliutil import console, err_console
from warroom.demo.files import Layout


class Terminated(Exception):
    """The demo got SIGTERM."""


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def demo(
    data_dir: Annotated[
        Path, typer.Option(help="A new or empty folder for the demo's database, config, runbook and inbox.")
    ] = Path("warroom-demo"),
    non_interactive: Annotated[
        bool, typer.Option("--non-interactive", help="Do not wait for Enter between steps; stop at the end.")
    ] = False,
) -> None:
    """Walk the whole incident loop on this machine: a service breaks, warroom pages, a runbook repairs it."""
    from warroom.demo.walk import DemoError, Walk, check_folder

    root = data_dir.resolve()
    try:
        check_folder(root)
    except DemoError as exc:
        err_console.print(f"error: {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    layout = Layout(root)
    console.print(f"[bold]warroom demo[/bold]: data folder {escape(str(root))}", highlight=False)
    walk = Walk(layout, interactive=not non_interactive, console=console)
    # SIGTERM (`kill`, `timeout`) stops the demo like Ctrl-C: `running()` then stops the server it started,
    # which runs in a session of its own and would otherwise be left behind.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        with walk.running():
            walk.run()
            console.rule("[bold]Done", align="left")
            console.print(
                f"The loop is complete. Everything is kept in {escape(str(root))}: warroom.db, warroom.yaml, "
                f"runbooks/, inbox/, server.log, INCIDENTS.md.",
                highlight=False,
            )
            console.print(
                f"To explore it later: WARROOM_CONFIG={escape(str(layout.config))} warroom serve "
                f"--data-dir {escape(str(root))}   (then export WARROOM_TOKEN=$(cat {escape(str(layout.token))}))",
                highlight=False,
            )
            if walk.interactive:
                console.print(f"warroom is still running at {walk.url}. Press Enter to stop it.", end="")
                with contextlib.suppress(EOFError):
                    input()
    except Terminated:
        err_console.print(f"\nTerminated. The data folder is left in {escape(str(root))}.", highlight=False)
        raise typer.Exit(128 + signal.SIGTERM) from None
    except KeyboardInterrupt:
        # The servers are stopped by `running()` on the way out; the folder stays for a person to look at.
        err_console.print(f"\nStopped. The data folder is left in {escape(str(root))}.", highlight=False)
        raise typer.Exit(130) from None
    except httpx.HTTPError as exc:
        # The server died or refused between two checks of it: say where its own account of why is.
        err_console.print(
            f"error: warroom stopped answering ({escape(str(exc))}): see {escape(str(layout.server_log))}. "
            f"The data folder is left in {escape(str(root))}.",
            highlight=False,
        )
        raise typer.Exit(1) from None
    except DemoError as exc:
        err_console.print(
            f"error: {escape(str(exc))}. The data folder is left in {escape(str(root))}.", highlight=False
        )
        raise typer.Exit(1) from None
    console.print(f"warroom stopped. Data folder: {escape(str(root))}", highlight=False)
