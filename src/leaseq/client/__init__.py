"""The Python client: ``Client`` (blocking) and ``AsyncClient`` over httpx.

Both send the same sans-I/O ``Call`` descriptions from ``leaseq.client.calls`` and raise
the classes of ``leaseq.errors``; see that module for which calls are retried. ``Client``
is generated from ``AsyncClient`` (``client/aio.py`` says how and why).
"""

from leaseq.client.aio import AsyncClient
from leaseq.client.base import NO_RETRY, RetryPolicy
from leaseq.client.calls import EnqueueOptions
from leaseq.client.models import (
    AckSpec,
    BatchOutcome,
    DeadGroup,
    Event,
    EventPage,
    Health,
    Job,
    JobSpec,
    Page,
    PollAnswer,
    Queue,
    QueueStats,
    RateLimit,
    Schedule,
    ScheduleJob,
    ScheduleRun,
    Undecodable,
    WorkerSeen,
)
from leaseq.client.sync import Client

__all__ = [
    "NO_RETRY",
    "AckSpec",
    "AsyncClient",
    "BatchOutcome",
    "Client",
    "DeadGroup",
    "EnqueueOptions",
    "Event",
    "EventPage",
    "Health",
    "Job",
    "JobSpec",
    "Page",
    "PollAnswer",
    "Queue",
    "QueueStats",
    "RateLimit",
    "RetryPolicy",
    "Schedule",
    "ScheduleJob",
    "ScheduleRun",
    "Undecodable",
    "WorkerSeen",
]
