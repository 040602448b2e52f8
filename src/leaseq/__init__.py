"""leaseq: a durable, language-agnostic distributed task queue over HTTP/JSON."""

from leaseq.errors import (
    InvalidRequest,
    InvalidTransition,
    JobNotFound,
    LeaseLost,
    LeaseqError,
    PayloadTooLarge,
    StorageUnavailable,
)
from leaseq.model import Job, JobSpec, JobState

__all__ = [
    "InvalidRequest",
    "InvalidTransition",
    "Job",
    "JobNotFound",
    "JobSpec",
    "JobState",
    "LeaseLost",
    "LeaseqError",
    "PayloadTooLarge",
    "StorageUnavailable",
]
__version__ = "0.1.0"
