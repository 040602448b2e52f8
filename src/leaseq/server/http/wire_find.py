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
    limit: Limit = limits.DEFAULT_PAGE
    cursor: Cursor | None = None

    def to_filter(self) -> JobFilter:
        return JobFilter(self.task, tuple(dict.fromkeys(self.tag)))


class JobQuery(_In):
    wait: Annotated[float, Meta(ge=0, le=limits.MAX_JOB_WAIT_S)] = 0.0
    """Seconds to hold the answer until the job is DONE, DEAD or CANCELLED; the job is
    answered as it is then, finished or not."""
