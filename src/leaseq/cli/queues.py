"""Steering queues: ``queues`` (their settings and counts), ``pause``, ``resume`` and
``limit``. Each talks to ``--url`` through ``leaseq.Client`` like the other operator
commands (``cli/ops.py``), with their exit codes; the writes need an admin token."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from msgspec import UNSET, UnsetType
from rich.table import Table

from leaseq.cli.ops import EXIT_CODES, AsJson, Token, Url, _print_json, out, session
from leaseq.client import Queue, RateLimit
from leaseq.core.limits import MAX_QUEUE_CONCURRENCY
from leaseq.core.model import JobState

NONE = "none"
"""What ``--concurrency``, ``--rate`` and ``--key-concurrency`` take to remove a limit."""

Name = Annotated[str, typer.Argument(metavar="QUEUE", help="Queue name.")]


def describe(q: Queue) -> str:
    """One line: ``mail: paused; concurrency 5, rate 10/1s, 1 per key``."""
    limits = [
        f"concurrency {q.concurrency}" if q.concurrency is not None else "",
        f"rate {q.rate_limit}" if q.rate_limit is not None else "",
        f"{q.key_concurrency} per key" if q.key_concurrency is not None else "",
    ]
    shown = ", ".join(part for part in limits if part) or "no limits"
    return f"{q.name}: {'paused' if q.paused else 'running'}; {shown}"


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def queues(as_json: AsJson = False, url: Url = None, token: Token = None) -> None:
    """Every queue with jobs or settings: paused or not, its limits, its jobs by state."""
    with session(url, token) as client:
        found = client.queues()
    if as_json:
        _print_json(found)
        return
    table = Table("queue", "paused", "concurrency", "rate", "per key", *JobState,
                  title="queues", title_justify="left")  # fmt: skip
    for q in found:
        table.add_row(
            q.name, "paused" if q.paused else "", _or_dash(q.concurrency),
            _or_dash(q.rate_limit), _or_dash(q.key_concurrency),
            *(str(q.counts.get(state, 0)) for state in JobState),
        )  # fmt: skip
    out.print(table)


def _show(q: Queue, as_json: bool) -> None:
    _print_json(q) if as_json else out.print(describe(q), highlight=False)


def pause(name: Name, as_json: AsJson = False, url: Url = None, token: Token = None) -> None:
    """Pause a queue: polls lease none of its jobs until `resume`; enqueues, acks and
    the leases already held carry on."""
    with session(url, token) as client:
        _show(client.pause(name), as_json)


def resume(name: Name, as_json: AsJson = False, url: Url = None, token: Token = None) -> None:
    """Resume a paused queue; waiting workers are woken at once."""
    with session(url, token) as client:
        _show(client.resume(name), as_json)


def _count(flag: str, text: str | None) -> int | UnsetType | None:
    if text is None:
        return UNSET
    if text.strip().lower() == NONE:
        return None
    if text.strip().isdigit() and 1 <= int(text) <= MAX_QUEUE_CONCURRENCY:
        return int(text)
    raise typer.BadParameter(
        f"{flag} must be a whole number from 1 to {MAX_QUEUE_CONCURRENCY}, or {NONE}"
        f" to remove the limit (got {text!r})"
    )


def _rate(text: str | None) -> RateLimit | UnsetType | None:
    if text is None:
        return UNSET
    if text.strip().lower() == NONE:
        return None
    try:
        return RateLimit.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(f"--rate: {exc}") from None


def _change(
    concurrency: str | None, rate: str | None, key_concurrency: str | None, clear: bool
) -> dict[str, Any]:
    given = [v for v in (concurrency, rate, key_concurrency) if v is not None]
    if clear and given:
        raise typer.BadParameter(
            "--clear removes every limit: give it alone, or set each limit (none removes one)"
        )
    if clear:
        return {"concurrency": None, "rate_limit": None, "key_concurrency": None}
    if not given:
        raise typer.BadParameter("give --concurrency, --rate, --key-concurrency or --clear")
    return {
        "concurrency": _count("--concurrency", concurrency),
        "rate_limit": _rate(rate),
        "key_concurrency": _count("--key-concurrency", key_concurrency),
    }


def limit(
    name: Name,
    concurrency: Annotated[
        str | None, typer.Option(help="Most jobs LEASED at once, on every node; none: no limit.")
    ] = None,
    rate: Annotated[
        str | None,
        typer.Option(help="Most leases per window: 10/1s, 100/1m, 5/500ms; none: no limit."),
    ] = None,
    key_concurrency: Annotated[
        str | None,
        typer.Option(help="Most LEASED jobs per concurrency key; none: no limit."),
    ] = None,
    clear: Annotated[bool, typer.Option(help="Remove every limit (a pause stays).")] = False,
    as_json: AsJson = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Set or remove a queue's limits; the limits not named stay as they are. Lowering a
    limit revokes no lease already held: it holds back the next claims."""
    change = _change(concurrency, rate, key_concurrency, clear)
    with session(url, token) as client:
        _show(client.update_queue(name, **change), as_json)


def register(cli: typer.Typer) -> None:
    for command in (queues, pause, resume, limit):
        cli.command(epilog=EXIT_CODES)(command)
