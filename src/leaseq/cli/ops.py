"""Operator commands: ``enqueue``, ``jobs``, ``job``, ``events``, ``dead``, ``requeue``,
``cancel``, ``stats`` (``cli/queues.py`` has those that steer queues). Each talks to
``--url`` (``LEASEQ_URL``) through ``leaseq.Client`` and turns the error tree into one line
on stderr and an exit code scripts can rely on."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from leaseq.cli import explain, tables
from leaseq.cli.options import flag, opt
from leaseq.client import Client, Event, Job, JobSpec, RetryPolicy
from leaseq.client.batching import DEFAULT_BATCH_BYTES, batches
from leaseq.core.limits import DEFAULT_QUEUE, MAX_BATCH
from leaseq.core.model import JobState
from leaseq.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    JobNotFound,
    LeaseqError,
    QueueFull,
    RateLimited,
    ScheduleNotFound,
    ServerUnavailable,
    Unauthorized,
)

EXIT_CODES = (
    "Exit codes: 0 ok; 1 refused by the server (invalid request or conflict); 2 usage "
    "error; 3 job or schedule not found; 4 server unavailable; 5 other server error."
)
# An operator wants an answer in seconds, not a worker's patient retries.
CLI_RETRY = RetryPolicy(max_seconds=2.0)
PAGE = MAX_BATCH

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

Url = Annotated[str | None, opt("url", "Server URL.")]
Token = Annotated[str | None, opt("token", "Bearer token.")]
AsJson = Annotated[bool, flag("Print JSON instead of a table.", "--json")]
Wide = Annotated[bool, flag("Whole job ids even in a narrow terminal.", "--wide")]
Queue = Annotated[str | None, typer.Option(help="Only this queue.")]


def opt_tags(text: str) -> Any:
    return typer.Option(metavar="<str>", help=text)


Tags = Annotated[list[str] | None, opt_tags("A tag (repeatable).")]


def exit_code(exc: LeaseqError) -> int:
    if isinstance(exc, JobNotFound | ScheduleNotFound):
        return 3
    if isinstance(exc, ServerUnavailable):
        return 4
    # "Refused": every class the server answers with a 4xx, decided by class because
    # domain errors carry no HTTP status.
    if isinstance(exc, (InvalidRequest, Conflict, Unauthorized, Forbidden, QueueFull, RateLimited)):
        return 1
    return 5


@contextmanager
def session(url: str | None, token: str | None) -> Iterator[Client]:
    """A client whose errors end the command with one line and a documented code."""
    try:
        with Client(url, token, retry=CLI_RETRY) as client:
            yield client
    except LeaseqError as exc:
        err.print(f"[red]error:[/red] {exc.message}", markup=True, highlight=False)
        raise typer.Exit(exit_code(exc)) from None


def _json_arg(text: str, what: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise typer.BadParameter(f"{what} is not valid JSON: {exc}") from None


def _print_json(value: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value), indent=2).decode() + "\n")


# -- enqueue -----------------------------------------------------------------------------


def _lines(file: Path) -> Iterator[tuple[int, str]]:
    stream = sys.stdin if str(file) == "-" else file.open(encoding="utf-8")
    try:
        for number, line in enumerate(stream, 1):
            if line.strip():
                yield number, line
    finally:
        if stream is not sys.stdin:
            stream.close()


def _specs(file: Path, defaults: dict[str, Any], full: bool) -> list[JobSpec]:
    """Each line is a payload, or with ``--specs`` a job object; flags fill the gaps."""
    specs = []
    for number, line in _lines(file):
        value = _json_arg(line, f"line {number}")
        fields = {**defaults, **value} if full and isinstance(value, dict) else None
        if full and fields is None:
            raise typer.BadParameter(f"line {number}: a job spec must be a JSON object")
        try:
            spec = msgspec.convert(fields or {**defaults, "payload": value}, JobSpec, strict=False)
        except msgspec.ValidationError as exc:
            raise typer.BadParameter(f"line {number}: {exc}") from None
        specs.append(spec)
    return specs


BatchBytes = Annotated[
    int, typer.Option(min=1024, help="With --file: encoded jobs per request, bytes.")
]


def _enqueue_batches(client: Client, specs: list[JobSpec], batch_bytes: int) -> None:
    done = 0
    with Progress(console=err, transient=True) as progress:
        bar = progress.add_task("enqueueing", total=len(specs))
        try:
            for batch in batches(specs, batch_bytes):
                jobs = client.enqueue_many(batch)
                out.print("\n".join(job.id for job in jobs), highlight=False)
                done += len(jobs)
                progress.update(bar, completed=done)
        except LeaseqError:
            err.print(f"{done} of {len(specs)} jobs were enqueued before the error")
            raise
    err.print(f"enqueued {done} jobs")


ConcurrencyKey = Annotated[
    str | None, typer.Option(help="Limited with its queue's key concurrency.")
]


def enqueue(
    payload: Annotated[str | None, typer.Argument(help="The job's payload, as JSON.")] = None,
    queue: Annotated[
        str | None, typer.Option(help=f"Queue (server default: {DEFAULT_QUEUE}).")
    ] = None,
    task: Annotated[str | None, typer.Option(help="Task name.")] = None,
    priority: Annotated[int | None, typer.Option(help="Higher runs first.")] = None,
    delay: Annotated[float | None, typer.Option(help="Seconds before it may run.")] = None,
    max_tries: Annotated[int | None, typer.Option(help="Leases before DEAD.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds one attempt may run.")] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="Enqueue at most once.")] = None,
    concurrency_key: ConcurrencyKey = None,
    tag: Tags = None,
    file: Annotated[Path | None, typer.Option(help="JSON lines to enqueue; - is stdin.")] = None,
    specs: Annotated[bool, flag("With --file: lines are job objects.", "--specs")] = False,
    batch_bytes: BatchBytes = DEFAULT_BATCH_BYTES,
    as_json: AsJson = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Enqueue one job (prints its id), or one per line of --file in batches of 1000
    jobs and --batch-bytes at most (keep that under the server's --max-body)."""
    if payload is None and file is None:
        raise typer.BadParameter("give the job's PAYLOAD (JSON) or --file")
    if payload is not None and file is not None:
        raise typer.BadParameter("give a PAYLOAD argument or --file, not both")
    defaults = {"queue": queue, "task": task, "priority": priority, "delay": delay,
                "max_tries": max_tries, "idempotency_key": idempotency_key,
                "concurrency_key": concurrency_key, "tags": tag, "timeout": timeout}  # fmt: skip
    defaults = {k: v for k, v in defaults.items() if v is not None}
    if file is not None:
        if idempotency_key is not None:
            raise typer.BadParameter("--idempotency-key names one job; use --specs lines")
        with session(url, token) as client:
            return _enqueue_batches(client, _specs(file, defaults, specs), batch_bytes)
    spec = msgspec.convert({**defaults, "payload": _json_arg(payload or "", "PAYLOAD")}, JobSpec)
    with session(url, token) as client:
        job = explain.enqueue_one(client, spec)
    _print_json(job) if as_json else out.print(job.id, highlight=False)


# -- listings ----------------------------------------------------------------------------


def _collect(client: Client, dead: bool, limit: int, **filters: Any) -> list[Job]:
    """Follows cursors until ``limit`` jobs, so ``--limit`` is not capped by a page."""
    jobs: list[Job] = []
    cursor = None
    while len(jobs) < limit:
        size = min(PAGE, limit - len(jobs))
        page = (
            client.list_dead(limit=size, cursor=cursor, **filters)
            if dead
            else client.list_jobs(limit=size, cursor=cursor, **filters)
        )
        jobs += page.jobs
        if page.next_cursor is None or not page.jobs:
            break
        cursor = page.next_cursor
    return jobs


def _show(jobs: list[Job], title: str, total: int, as_json: bool, wide: bool) -> None:
    if as_json:
        _print_json(jobs)
        return
    shown = f"{len(jobs):,} of {total:,}" if total > len(jobs) else f"{len(jobs):,}"
    full = wide or out.width >= tables.FULL_ID_WIDTH
    table = tables.jobs_table(jobs, f"{title}: {shown}", full_ids=full, now=tables.utcnow())
    # --wide asks for whole ids: the table may then be wider than the terminal.
    wider = Console(soft_wrap=True, width=max(out.width, tables.FULL_ID_WIDTH))
    (wider if wide else out).print(table)


State = Annotated[
    JobState | None, typer.Option(case_sensitive=False, help="Only this state (any case).")
]


def jobs(
    state: State = None,
    queue: Queue = None,
    task: Annotated[str | None, typer.Option(help="Only jobs of this task.")] = None,
    tag: Annotated[list[str] | None, opt_tags("Only jobs with this tag (repeatable: all).")] = None,
    delayed: Annotated[
        bool | None,
        flag("Only jobs whose run_at is ahead (or has come).", "--delayed/--not-delayed"),
    ] = None,
    attempted: Annotated[
        bool | None, flag("Only jobs leased before (or never).", "--attempted/--not-attempted")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: AsJson = False,
    wide: Wide = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """List jobs, newest first. `--state QUEUED --delayed` lists the delayed jobs and
    `--state QUEUED --attempted` those waiting to be retried."""
    tags = tag or []
    filters = {"task": task, "tags": tags, "delayed": delayed, "attempted": attempted}
    with session(url, token) as client:
        found = _collect(client, False, limit, state=state, queue=queue, **filters)
        # The server counts by queue and state only: a total by the others is not kept.
        filtered = task is not None or tags or delayed is not None or attempted is not None
        total = len(found) if filtered else explain.total(client, state, queue)
    _show(found, "jobs", total, as_json, wide)


def dead(
    queue: Queue = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
    as_json: AsJson = False,
    wide: Wide = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """List the dead letter queue."""
    with session(url, token) as client:
        found = _collect(client, True, limit, queue=queue)
        total = explain.total(client, JobState.DEAD, queue)
    _show(found, "dead jobs", total, as_json, wide)


def job(job_id: Annotated[str, typer.Argument(help="Job id.")], url: Url = None,
        token: Token = None) -> None:  # fmt: skip
    """Show one job as JSON."""
    with session(url, token) as client:
        _print_json(client.get_job(job_id))


def _history(client: Client, job_id: str, limit: int) -> list[Event]:
    """Follows cursors until ``limit`` events, oldest first."""
    events: list[Event] = []
    cursor = None
    while len(events) < limit:
        page = client.events(job_id, limit=min(PAGE, limit - len(events)), cursor=cursor)
        events += page.events
        if page.next_cursor is None or not page.events:
            break
        cursor = page.next_cursor
    return events


def events(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    limit: Annotated[int, typer.Option(min=1, help="At most this many, oldest first.")] = MAX_BATCH,
    as_json: AsJson = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Show a job's history: every lease, heartbeat, failure and requeue."""
    with session(url, token) as client:
        found = _history(client, job_id, limit)
    if as_json:
        _print_json(found)
        return
    table = Table(title=f"history of {job_id} ({len(found)})", title_justify="left")
    for name in ("at", "event", "state", "attempt", "worker", "error"):
        table.add_column(name, overflow="ellipsis")
    for e in found:
        error = (e.error or "").strip().splitlines()[-1:] or [""]
        table.add_row(f"{e.at:%Y-%m-%d %H:%M:%S.%f}"[:-3], e.kind, e.state, str(e.attempt),
                      e.worker_id or "", error[0][:60])  # fmt: skip
    out.print(table)


def requeue(
    job_ids: Annotated[list[str] | None, typer.Argument(help="DEAD job ids.")] = None,
    queue: Annotated[str | None, typer.Option(help="Requeue every DEAD job of it.")] = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Requeue DEAD jobs by id, or all of a queue; prints how many were requeued. An id
    that is not requeued is named on stderr with the reason, and the exit code is 3 if
    one does not exist, else 1."""
    if bool(job_ids) == (queue is not None):
        raise typer.BadParameter("give job ids or --queue, not both")
    with session(url, token) as client:
        if queue is not None:
            out.print(f"requeued {client.requeue_dead(queue=queue)}", highlight=False)
            return
        ids = list(dict.fromkeys(job_ids or []))
        count, skipped = explain.requeue_checked(client, ids)
    out.print(f"requeued {count} of {len(ids)}", highlight=False)
    for job_id, reason in skipped.items():
        err.print(f"[red]not requeued:[/red] {job_id}: {reason}", markup=True, highlight=False)
    if skipped:
        raise typer.Exit(3 if any(r == explain.NOT_FOUND for r in skipped.values()) else 1)


def cancel(job_ids: Annotated[list[str], typer.Argument(help="Job ids.")], url: Url = None,
           token: Token = None) -> None:  # fmt: skip
    """Cancel jobs: QUEUED, DEAD, or LEASED (at once; its worker is told and stops the
    task). Prints each id cancelled with its state; one that is not is named on stderr
    with the reason, and the exit code is 3 if one does not exist, else 1."""
    ids = list(dict.fromkeys(job_ids))
    with session(url, token) as client:
        outcomes = [o for i in range(0, len(ids), MAX_BATCH)
                    for o in client.cancel_many(ids[i : i + MAX_BATCH])]  # fmt: skip
    codes = []
    for outcome in outcomes:
        if outcome.job is not None:
            out.print(f"{outcome.job_id} {outcome.job.state}", highlight=False)
            continue
        message = outcome.error.message if outcome.error is not None else "no answer"
        err.print(f"[red]not cancelled:[/red] {outcome.job_id}: {message}", markup=True,
                  highlight=False)  # fmt: skip
        codes.append(3 if isinstance(outcome.error, JobNotFound) else 1)
    if codes:
        raise typer.Exit(max(codes))


def stats(as_json: AsJson = False, url: Url = None, token: Token = None) -> None:
    """Job counts by queue and state."""
    with session(url, token) as client:
        queues = client.stats()
    if as_json:
        _print_json(queues)
        return
    out.print(tables.stats_table(queues))


def register(cli: typer.Typer) -> None:
    for command in (enqueue, jobs, job, events, dead, requeue, cancel, stats):
        cli.command(epilog=EXIT_CODES)(command)
