"""leaseq: a durable, language-agnostic distributed task queue over HTTP/JSON.

``leaseq.Job`` is the client's typed view of a job on the wire; the server's domain
record (integer milliseconds, raw JSON text) stays importable as ``leaseq.core.model.Job``.
"""

__version__ = "0.1.0"

from leaseq.client import AsyncClient, Client, Job, JobSpec, RetryPolicy
from leaseq.client.tasks import App, Permanent, Task
from leaseq.core.model import JobState
from leaseq.errors import (
    Conflict,
    InvalidRequest,
    InvalidTransition,
    JobNotFound,
    LeaseLost,
    LeaseqError,
    PayloadTooLarge,
    ServerUnavailable,
    StorageUnavailable,
)

__all__ = [
    "App",
    "AsyncClient",
    "Client",
    "Conflict",
    "InvalidRequest",
    "InvalidTransition",
    "Job",
    "JobNotFound",
    "JobSpec",
    "JobState",
    "LeaseLost",
    "LeaseqError",
    "PayloadTooLarge",
    "Permanent",
    "RetryPolicy",
    "ServerUnavailable",
    "StorageUnavailable",
    "Task",
]
