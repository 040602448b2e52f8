"""Finding jobs and waiting for one: the queries of ``GET /jobs`` and ``GET /jobs/{id}``."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, field

from leaseq.core import limits
from leaseq.core.model import JobFilter, JobState
from leaseq.server.http.wire import Cursor, Limit, Name, QueueName, Tags, _In


class JobsQuery(_In):
    state: JobState | None = None
    queue: QueueName | None = None
    task: Name | None = None
    tag: Tags = field(default_factory=list)
    """Repeatable (``?tag=a&tag=b``): the jobs that carry every one of them."""
    delayed: bool | None = None
    """true: only jobs whose run_at is still ahead (with QUEUED: delayed, or waiting out a
    retry's backoff); false: only those whose run_at has come."""
    attempted: bool | None = None
    """true: only jobs leased before (attempts > 0; with QUEUED: waiting to be retried);
    false: only those never leased."""
    limit: Limit = limits.DEFAULT_PAGE
    cursor: Cursor | None = None

    def to_filter(self) -> JobFilter:
        tags = tuple(dict.fromkeys(self.tag))
        return JobFilter(self.task, tags, self.delayed, self.attempted)


class JobQuery(_In):
    wait: Annotated[float, Meta(ge=0, le=limits.MAX_JOB_WAIT_S)] = 0.0
    """Seconds to hold the answer until the job is DONE, DEAD or CANCELLED; the job is
    answered as it is then, finished or not."""
