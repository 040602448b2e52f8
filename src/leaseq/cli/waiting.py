"""``leaseq wait ID``: holds until the job is finished and says how in its exit code, so a
script can run ``leaseq enqueue ... && leaseq wait "$id"`` and branch on the outcome."""

from __future__ import annotations

from typing import Annotated

import typer

from leaseq.cli.ops import EXIT_CODES, AsJson, Token, Url, _print_json, out, session
from leaseq.core.model import JobState
from leaseq.errors import WaitTimedOut

FINAL = {JobState.DONE: 0, JobState.DEAD: 6, JobState.CANCELLED: 7}
NOT_YET = 8
WAIT_EXIT_CODES = (
    f"{EXIT_CODES} For wait: 0 DONE; 6 DEAD; 7 CANCELLED; 8 not finished within --timeout."
)


def wait(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    timeout: Annotated[
        float, typer.Option(min=0, help="Seconds to wait at most (the server holds 30 at a time).")
    ] = 300.0,
    as_json: AsJson = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Wait until the job is DONE, DEAD or CANCELLED; print its state (or the job with
    --json). The exit code says which (below)."""
    with session(url, token) as client:
        try:
            job = client.wait(job_id, timeout)
        except WaitTimedOut as exc:
            job = exc.job  # type: ignore[assignment]
    _print_json(job) if as_json else out.print(f"{job.id} {job.state}", highlight=False)
    raise typer.Exit(FINAL.get(job.state, NOT_YET))


def register(cli: typer.Typer) -> None:
    cli.command(epilog=WAIT_EXIT_CODES)(wait)
