"""`warroom subscriber ...`: a client of the status page subscribers API (webhooks; email subscribes itself)."""

from __future__ import annotations

from typing import Annotated

import typer

from warroom.client import ApiClient
from warroom.cliutil import console, handle_errors, print_json, table, when

app = typer.Typer(help="Status page subscribers: add and remove webhooks, list every subscriber.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("add")
@handle_errors
def add(
    url: Annotated[str, typer.Argument(help="The webhook's http(s) URL.")],
    components: Annotated[
        str | None, typer.Option("--components", "-c", help="Only these public component ids, comma-separated.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a webhook subscriber (admin token needed): it receives Statuspage-shaped JSON for each public update."""
    chosen = [c.strip() for c in (components or "").split(",") if c.strip()]
    row = ApiClient().post("/api/v1/status/subscribers", {"url": url, "components": chosen})
    if as_json:
        print_json(row)
        return
    which = ", ".join(row["components"]) or "all components"
    console.print(f"added subscriber {row['id']}: {row['address']} ({which})", highlight=False)


@app.command("list")
@handle_errors
def list_(
    kind: Annotated[str | None, typer.Option(help="email or webhook.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 100,
    after: Annotated[int, typer.Option(help="Only ids after this one (the next page).")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List subscribers (admin token needed: addresses are personal data)."""
    rows = ApiClient().get("/api/v1/status/subscribers", kind=kind, limit=limit, after=after)
    if as_json:
        print_json(rows)
        return
    table(
        None,
        ["id", "kind", "address", "state", "components", "since"],
        [
            [r["id"], r["kind"], r["address"], r["state"], ", ".join(r["components"]) or "all", when(r["created_at"])]
            for r in rows
        ],
    )


@app.command("remove")
@handle_errors
def remove(
    subscriber_id: Annotated[int, typer.Argument(help="The subscriber's id (see `warroom subscriber list`).")],
) -> None:
    """Remove a subscriber, email or webhook (admin token needed)."""
    ApiClient().request("DELETE", f"/api/v1/status/subscribers/{subscriber_id}")
    console.print(f"removed subscriber {subscriber_id}", highlight=False)
