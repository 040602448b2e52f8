"""Schedule commands: ``leaseq schedules`` lists them; ``leaseq schedule set|delete|
trigger|pause|resume NAME`` change one and ``leaseq schedule runs NAME`` shows its history.
They share the operator commands' session, so errors are one line on stderr with the same
exit codes (a bad cron expression prints the server's 422 message and exits 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from leaseq.cli.ops import EXIT_CODES, AsJson, Token, Url, _json_arg, _print_json, out, session
from leaseq.client import JobSpec, Schedule, ScheduleRun
from leaseq.core.limits import DEFAULT_QUEUE

schedule_app = typer.Typer(
    no_args_is_help=True, help="Create, change and run schedules (cron or interval jobs)."
)

Name = Annotated[str, typer.Argument(help="Schedule name.")]


def _when(value: Any) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _cadence(s: Schedule) -> str:
    return s.cron if s.cron is not None else f"every {s.every:g}s"


def _table(found: list[Schedule], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("name", no_wrap=True)
    for column in ("cron/every", "timezone", "next run", "last run"):
        table.add_column(column, overflow="ellipsis")
    table.add_column("last job", no_wrap=True)
    table.add_column("paused")
    for s in found:
        table.add_row(
            s.name, _cadence(s), s.timezone, _when(s.next_run_at), _when(s.last_run_at),
            s.last_job_id or "-", "paused" if s.paused else "",
        )  # fmt: skip
    return table


def _show(schedule: Schedule, as_json: bool) -> None:
    _print_json(schedule) if as_json else out.print(_table([schedule], schedule.name))


def schedules(as_json: AsJson = False, url: Url = None, token: Token = None) -> None:
    """List the schedules, by name, with their next and last runs (times in UTC)."""
    with session(url, token) as client:
        found = client.schedules()
    _print_json(found) if as_json else out.print(_table(found, f"schedules ({len(found)})"))


def _payload(payload: str | None, file: Path | None) -> Any:
    if payload is not None and file is not None:
        raise typer.BadParameter("give --payload or --file, not both")
    if file is not None:
        text = typer.get_text_stream("stdin").read() if str(file) == "-" else file.read_text()
        return _json_arg(text, str(file))
    return None if payload is None else _json_arg(payload, "--payload")


@schedule_app.command("set", epilog=EXIT_CODES)
def set_schedule(
    name: Name,
    cron: Annotated[str | None, typer.Option(help="Cron expression, e.g. '*/5 * * * *'.")] = None,
    every: Annotated[float | None, typer.Option(help="Seconds between slots (>= 1).")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone of --cron.")] = "UTC",
    queue: Annotated[str, typer.Option(help="Queue of its jobs.")] = DEFAULT_QUEUE,
    task: Annotated[str | None, typer.Option(help="Task name of its jobs.")] = None,
    payload: Annotated[str | None, typer.Option(help="Payload of its jobs, as JSON.")] = None,
    file: Annotated[Path | None, typer.Option(help="Payload from a JSON file; - is stdin.")] = None,
    priority: Annotated[int | None, typer.Option(help="Higher runs first.")] = None,
    max_tries: Annotated[int | None, typer.Option(help="Leases before DEAD.")] = None,
    overlap: Annotated[
        str, typer.Option(help="allow, or skip a slot while the last job runs.")
    ] = "allow",
    paused: Annotated[
        bool | None, typer.Option("--paused/--unpaused", help="Default: as it was (new: unpaused).")
    ] = None,
    as_json: AsJson = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Create or replace schedule NAME (its history and, unless told, its pause are kept)."""
    if (cron is None) == (every is None):
        raise typer.BadParameter("give --cron or --every, one of them")
    job = JobSpec(payload=_payload(payload, file), queue=queue, task=task, priority=priority,
                  max_tries=max_tries)  # fmt: skip
    with session(url, token) as client:
        put = client.put_schedule(name, cron=cron, every=every, timezone=timezone, job=job,
                                  paused=paused, overlap=overlap)  # fmt: skip
    _show(put, as_json)


@schedule_app.command(epilog=EXIT_CODES)
def delete(name: Name, url: Url = None, token: Token = None) -> None:
    """Delete schedule NAME; the jobs it already enqueued stay."""
    with session(url, token) as client:
        gone = client.delete_schedule(name)
    out.print(f"deleted {gone.name}", highlight=False)


@schedule_app.command(epilog=EXIT_CODES)
def trigger(name: Name, as_json: AsJson = False, url: Url = None, token: Token = None) -> None:
    """Enqueue one run of NAME's job now, outside its slots; prints the job's id."""
    with session(url, token) as client:
        job = client.trigger_schedule(name)
    _print_json(job) if as_json else out.print(job.id, highlight=False)


@schedule_app.command(epilog=EXIT_CODES)
def pause(name: Name, as_json: AsJson = False, url: Url = None, token: Token = None) -> None:
    """Pause NAME: its slots enqueue nothing until it is resumed."""
    with session(url, token) as client:
        _show(client.pause_schedule(name), as_json)


@schedule_app.command(epilog=EXIT_CODES)
def resume(name: Name, as_json: AsJson = False, url: Url = None, token: Token = None) -> None:
    """Resume NAME from now: the slots missed while paused are not replayed."""
    with session(url, token) as client:
        _show(client.resume_schedule(name), as_json)


def _runs_table(runs: list[ScheduleRun], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("slot", "taken", "outcome", "job", "missed"):
        table.add_column(column, no_wrap=True, justify="right" if column == "missed" else "left")
    for r in runs:
        table.add_row(
            _when(r.slot_at) if r.slot_at else "(trigger)", _when(r.at), r.outcome,
            r.job_id or "-", f"{r.skipped:,}",
        )  # fmt: skip
    return table


@schedule_app.command(epilog=EXIT_CODES)
def runs(
    name: Name,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 20,
    as_json: AsJson = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Show NAME's run history, newest first: each slot taken (times in UTC), its job or
    why there was none, and the slots missed before it."""
    with session(url, token) as client:
        found = client.schedule_runs(name, limit=limit)
    _print_json(found) if as_json else out.print(_runs_table(found, f"runs of {name}"))


def register(cli: typer.Typer) -> None:
    cli.command(epilog=EXIT_CODES)(schedules)
    cli.add_typer(schedule_app, name="schedule")
