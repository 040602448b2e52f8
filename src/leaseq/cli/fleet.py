"""``leaseq workers``: the workers the server saw recently, as a table or JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from leaseq.cli import ops
from leaseq.cli.tables import utcnow, workers_table


def workers(
    within: Annotated[
        float | None, typer.Option(help="Seen in the last this many seconds (server default).")
    ] = None,
    as_json: ops.AsJson = False,
    url: ops.Url = None,
    token: ops.Token = None,
) -> None:
    """List the workers seen recently: when, how many jobs each holds, done and failed."""
    with ops.session(url, token) as client:
        seen = client.workers(within=within)
    if as_json:
        ops._print_json(seen)
        return
    ops.out.print(workers_table(seen, utcnow()))


def register(cli: typer.Typer) -> None:
    cli.command(epilog=ops.EXIT_CODES)(workers)
