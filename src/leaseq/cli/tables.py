"""The operator commands' tables, made to read at 80 columns.

A table that does not fit is cut by rich column by column, which turned queue names into
``em…`` and states into ``QU…``: here every column but the last error keeps its whole
value (``no_wrap``), times are short and relative (``12s ago``, ``in 5m``), and a job id is
shown by its last characters unless the terminal is wide enough for all 36 of them (or
``--wide`` asks for them), since the start of an id is its timestamp, shared by the jobs
enqueued in the same minute, and its end is random.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from rich import box
from rich.table import Table
from rich.text import Text

from leaseq.client import DeadGroup, Job, QueueStats, WorkerSeen
from leaseq.core.model import JobState

FULL_ID_WIDTH = 120
"""A terminal at least this wide shows whole ids; a narrower one shows their ends."""
SHORT_ID = 8


def short_id(job_id: str, full: bool) -> str:
    return job_id if full or len(job_id) <= SHORT_ID else "…" + job_id[-SHORT_ID:]


def ago(when: datetime, now: datetime) -> str:
    """``12s ago`` for the past, ``in 5m`` for the future: the largest whole unit."""
    seconds = (when - now).total_seconds()
    span = abs(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if span >= size:
            text = f"{int(span // size)}{unit}"
            break
    else:
        text = f"{int(span)}s"
    return f"in {text}" if seconds > 0.5 else f"{text} ago"


def _table(title: str) -> Table:
    # No borders and one space between columns: a box costs three columns per column.
    return Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
        pad_edge=False, padding=(0, 1, 0, 0),
    )  # fmt: skip


def _exception(error_type: str | None, message: str | None, text: str | None) -> str:
    """The exception, the part worth a table cell: its type and message when the worker
    sent them apart, else the last line of the text (a traceback ends with it)."""
    if error_type:
        return (f"{error_type}: {message or ''}".rstrip(": ").splitlines() or [""])[0][:200]
    return ((text or "").strip().splitlines()[-1:] or [""])[0][:200]


def jobs_table(jobs: Sequence[Job], title: str, *, full_ids: bool, now: datetime) -> Table:
    table = _table(title)
    table.add_column("id", no_wrap=True)
    for name in ("queue", "task", "state", "tries", "run at", "updated"):
        table.add_column(name, no_wrap=True)
    # The only column that gives way (rich narrows wrappable columns first); its text is
    # one line cut with an ellipsis rather than wrapped.
    table.add_column("last error", min_width=10)
    for j in jobs:
        error = _exception(j.last_error_type, j.last_error_message, j.last_error)
        table.add_row(
            short_id(j.id, full_ids), j.queue, j.task or "", j.state,
            f"{j.attempts}/{j.max_tries}", ago(j.run_at, now), ago(j.updated_at, now),
            Text(error, no_wrap=True, overflow="ellipsis"),
        )  # fmt: skip
    if not full_ids and jobs:
        table.caption = "ids shortened: --wide or --json for whole ids"
        table.caption_justify = "left"
    return table


def stats_table(queues: dict[str, QueueStats]) -> Table:
    table = _table("leaseq")
    table.add_column("queue", no_wrap=True)
    for state in JobState:
        table.add_column(state.value, justify="right", no_wrap=True)
    table.add_column("oldest ready", justify="right", no_wrap=True)
    for name, s in queues.items():
        counts = [f"{getattr(s, state.value):,}" for state in JobState]
        table.add_row(name, *counts, oldest_ready(s))
    return table


def oldest_ready(s: QueueStats) -> str:
    """The server answers 0 when no job is ready (none queued, or only delayed ones):
    that is "nothing waiting", not "a job waiting for 0.0 s"."""
    if s.QUEUED == 0 or s.oldest_queued_age_s <= 0:
        return "-"
    return f"{s.oldest_queued_age_s:.1f}s"


def workers_table(seen: Iterable[WorkerSeen], now: datetime) -> Table:
    table = _table("workers")
    for name in ("worker", "last seen", "holding", "runs", "done", "failed", "queues"):
        left = name in ("worker", "queues")
        table.add_column(name, no_wrap=name != "queues", justify="left" if left else "right")
    for w in seen:
        table.add_row(
            w.worker_id, ago(w.last_seen_at, now), f"{len(w.jobs):,}",
            "-" if w.concurrency is None else f"{w.concurrency:,}", f"{w.done:,}",
            f"{w.failed:,}", ",".join(w.queues) or "-",
        )  # fmt: skip
    return table


def dead_groups_table(groups: Iterable[DeadGroup], title: str) -> Table:
    table = _table(title)
    table.add_column("jobs", justify="right", no_wrap=True)
    table.add_column("error", min_width=10)
    table.add_column("first id", no_wrap=True)
    for g in groups:
        error = _exception(g.error_type, g.error_message, g.error)
        first = short_id(g.job_ids[0], False) if g.job_ids else "-"
        table.add_row(f"{g.count:,}", Text(error, no_wrap=True, overflow="ellipsis"), first)
    return table


def utcnow() -> datetime:
    return datetime.now(UTC)
