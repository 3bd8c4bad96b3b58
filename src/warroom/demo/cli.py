"""`warroom demo`: the command; the walk itself is in walk.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from warroom.cliutil import console, err_console
from warroom.demo.files import Layout


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
            if not non_interactive:
                console.print(f"warroom is still running at {walk.url}. Press Enter to stop it.", end="")
                input()
    except KeyboardInterrupt:
        # The servers are stopped by `running()` on the way out; the folder stays for a person to look at.
        err_console.print(f"\nStopped. The data folder is left in {escape(str(root))}.", highlight=False)
        raise typer.Exit(130) from None
    except DemoError as exc:
        err_console.print(
            f"error: {escape(str(exc))}. The data folder is left in {escape(str(root))}.", highlight=False
        )
        raise typer.Exit(1) from None
    console.print(f"warroom stopped. Data folder: {escape(str(root))}", highlight=False)
