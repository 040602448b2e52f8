"""``leaseq workers`` and ``leaseq dead-groups``: who works, and how the dead failed, as a
table or JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from leaseq.cli import ops
from leaseq.cli.tables import dead_groups_table, utcnow, workers_table
from leaseq.core.limits import DEFAULT_QUEUE


def workers(
    within: Annotated[
        float | None, typer.Option(help="Seen in the last this many seconds (server default).")
    ] = None,
    as_json: ops.AsJson = False,
    url: ops.Url = None,
    token: ops.Token = None,
) -> None:
    """List the workers seen recently: when, the queues each polls and how many jobs it
    runs at once, how many it holds, done and failed."""
    with ops.session(url, token) as client:
        seen = client.workers(within=within)
    if as_json:
        ops._print_json(seen)
        return
    ops.out.print(workers_table(seen, utcnow()))


def dead_groups(
    queue: Annotated[str, typer.Option(help="The queue whose dead letters to group.")] = (
        DEFAULT_QUEUE
    ),
    groups: Annotated[int, typer.Option(min=1, max=100, help="At most this many groups.")] = 20,
    as_json: ops.AsJson = False,
    url: ops.Url = None,
    token: ops.Token = None,
) -> None:
    """Group a queue's dead letters by how they failed (exception type and message),
    largest first; `leaseq requeue` takes the ids `--json` lists."""
    with ops.session(url, token) as client:
        found = client.dead_groups(queue, groups=groups)
    if as_json:
        ops._print_json(found)
        return
    ops.out.print(dead_groups_table(found, f"dead letters of {queue} by error"))


def register(cli: typer.Typer) -> None:
    cli.command(epilog=ops.EXIT_CODES)(workers)
    cli.command("dead-groups", epilog=ops.EXIT_CODES)(dead_groups)
