"""leaseq: a durable, language-agnostic distributed task queue over HTTP/JSON.

``leaseq.Job`` is the client's typed view of a job on the wire (decoded payloads,
``datetime`` values); the server's own record of a job, in integer milliseconds and raw
JSON text, is a different thing with a different name: ``leaseq.core.model.JobRecord``.

The SDK's names are loaded on first use (PEP 562), not here: every ``import leaseq.x``
runs this file first, and the server, which imports ``leaseq.server``, must not load the
client package with it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from leaseq.errors import (
    Conflict,
    InvalidRequest,
    InvalidTransition,
    JobCancelled,
    JobFailed,
    JobNotFound,
    LeaseLost,
    LeaseqError,
    PayloadTooLarge,
    ServerUnavailable,
    StorageUnavailable,
    WaitTimedOut,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from leaseq.client import AsyncClient, Client, Job, JobSpec, RetryPolicy
    from leaseq.client.context import RunningJob, current_job
    from leaseq.client.tasks import App, Permanent, Task, TaskJob
    from leaseq.core.model import JobState

_LAZY = {
    "App": "leaseq.client.tasks",
    "AsyncClient": "leaseq.client",
    "Client": "leaseq.client",
    "Job": "leaseq.client",
    "JobSpec": "leaseq.client",
    "JobState": "leaseq.core.model",
    "Permanent": "leaseq.client.tasks",
    "RetryPolicy": "leaseq.client",
    "RunningJob": "leaseq.client.context",
    "Task": "leaseq.client.tasks",
    "TaskJob": "leaseq.client.tasks",
    "current_job": "leaseq.client.context",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'leaseq' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "App",
    "AsyncClient",
    "Client",
    "Conflict",
    "InvalidRequest",
    "InvalidTransition",
    "Job",
    "JobCancelled",
    "JobFailed",
    "JobNotFound",
    "JobSpec",
    "JobState",
    "LeaseLost",
    "LeaseqError",
    "PayloadTooLarge",
    "Permanent",
    "RetryPolicy",
    "RunningJob",
    "ServerUnavailable",
    "StorageUnavailable",
    "Task",
    "TaskJob",
    "WaitTimedOut",
    "current_job",
]
