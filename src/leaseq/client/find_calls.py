"""Finding jobs and waiting for one: the ``Call`` values of ``GET /jobs`` and
``GET /jobs/{id}``, as ``calls`` has the others."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

import msgspec

from leaseq.client.calls import Call, _one_job, _page_params
from leaseq.client.models import Job, Page
from leaseq.core.model import FINISHED, JobState
from leaseq.errors import JobFailed, WaitTimedOut


def get_job(job_id: str, wait: float = 0.0) -> Call[Job]:
    """With ``wait`` (at most ``limits.MAX_JOB_WAIT_S``), the server holds the answer until
    the job is finished or the wait is over."""
    params: dict[str, str | list[str]] = {"wait": f"{wait:.3f}"} if wait > 0 else {}
    path = f"/jobs/{quote(job_id, safe='')}"
    return Call("GET", path, _one_job, params=params, safe=True, extra_timeout=wait)


def waited(job: Job, raise_on_failure: bool, time_left: float) -> Job | None:
    """What one server wait of ``wait`` came to: the finished job (``JobFailed`` raised for
    DEAD or CANCELLED when asked), None to wait on, ``WaitTimedOut`` when no time is left."""
    if job.state in FINISHED:
        if raise_on_failure and job.state is not JobState.DONE:
            raise JobFailed(f"job {job.id} is {job.state}: {job.last_error or 'no error'}", job)
        return job
    if time_left <= 0:
        raise WaitTimedOut(f"job {job.id} is still {job.state}", job)
    return None


def list_jobs(
    state: JobState | str | None,
    queue: str | None,
    limit: int,
    cursor: str | None,
    task: str | None = None,
    tags: Sequence[str] = (),
    delayed: bool | None = None,
    attempted: bool | None = None,
) -> Call[Page]:
    """``tags``: jobs that carry every one of them; ``delayed`` and ``attempted`` as
    ``GET /jobs`` takes them (None: either)."""
    flags = {k: None if v is None else str(v).lower()
             for k, v in (("delayed", delayed), ("attempted", attempted))}  # fmt: skip
    params = _page_params(limit, cursor, state=None if state is None else str(state),
                          queue=queue, task=task, tag=list(tags), **flags)  # fmt: skip
    return Call(
        "GET", "/jobs", lambda c: msgspec.json.decode(c, type=Page), params=params, safe=True
    )
