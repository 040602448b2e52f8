"""One error tree for the whole project; the HTTP layer and the client share it.

::

    LeaseqError
     ├── InvalidRequest        400/422  the request itself is wrong
     │    └── PayloadTooLarge  413      the body is over --max-body
     ├── JobNotFound           404      no job has that id
     ├── Conflict              409      the job is not in a state that allows this
     │    ├── LeaseLost        409      the caller's lease token is no longer current
     │    └── InvalidTransition 409     e.g. cancel of a LEASED job
     ├── Unauthorized          401      no valid bearer token (403: wrong role)
     ├── QueueFull             429      the queue is at --max-queue-depth
     └── ServerUnavailable     503      the server cannot be reached
          └── StorageUnavailable 503    the store did not answer or refused the write
               ├── StorageFull   507      the store's disk is full; free space, then retry
               └── StorageReadOnly 503    the store's filesystem turned read-only

Each class carries a stable ``code`` that travels in error bodies, so a client can raise
the same class the server raised. ``ServerUnavailable`` is what the client raises when it
cannot reach the server at all; ``StorageUnavailable`` sits under it so that one
``except ServerUnavailable`` covers every "try again later" case.
"""

from __future__ import annotations


class LeaseqError(Exception):
    """Root of every error leaseq raises on purpose."""

    code = "error"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(LeaseqError):
    code = "invalid_request"
    status = 422


class PayloadTooLarge(InvalidRequest):
    code = "payload_too_large"
    status = 413


class JobNotFound(LeaseqError):
    code = "job_not_found"
    status = 404


class Conflict(LeaseqError):
    code = "conflict"
    status = 409


class LeaseLost(Conflict):
    code = "lease_lost"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class Unauthorized(LeaseqError):
    code = "unauthorized"
    status = 401


class Forbidden(LeaseqError):
    code = "forbidden"
    status = 403


class QueueFull(LeaseqError):
    """A producer is told to back off rather than let the store grow without bound."""

    code = "queue_full"
    status = 429


class RateLimited(LeaseqError):
    code = "rate_limited"
    status = 429


class ServerUnavailable(LeaseqError):
    code = "server_unavailable"
    status = 503


class StorageUnavailable(ServerUnavailable):
    code = "storage_unavailable"
    status = 503


class StorageFull(StorageUnavailable):
    """The disk under the store is full: accepted work is safe, new writes are refused
    until space is freed, and then they succeed again without a restart."""

    code = "storage_full"
    status = 507


class StorageReadOnly(StorageUnavailable):
    """The filesystem under the store refuses writes (remounted read-only after an error,
    or the directory lost its write permission): reads are still answered, accepted work
    is safe, and writes succeed again without a restart once it is writable."""

    code = "storage_read_only"
    status = 503


ERRORS_BY_CODE: dict[str, type[LeaseqError]] = {
    cls.code: cls
    for cls in (
        LeaseqError,
        InvalidRequest,
        PayloadTooLarge,
        JobNotFound,
        Conflict,
        LeaseLost,
        InvalidTransition,
        Unauthorized,
        Forbidden,
        QueueFull,
        RateLimited,
        ServerUnavailable,
        StorageUnavailable,
        StorageFull,
        StorageReadOnly,
    )
}
