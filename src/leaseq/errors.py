"""One error tree for the whole project; the HTTP layer and the client share it.

::

    LeaseqError
     ├── InvalidRequest          the request itself is wrong
     │    ├── PayloadTooLarge    the body is over --max-body
     │    ├── UnsupportedMediaType  a body that is not application/json
     │    ├── HeadersTooLarge    the request line and headers are over --max-header-bytes
     │    └── HeaderTimeout      the headers did not arrive within --header-timeout
     ├── JobNotFound             no job has that id
     ├── ScheduleNotFound        no schedule has that name
     ├── Conflict                the job is not in a state that allows this
     │    ├── LeaseLost          the caller's lease token is no longer current
     │    │    └── JobCancelled  ... because an operator cancelled the job it held
     │    └── InvalidTransition  e.g. cancel of a DONE job
     ├── Unauthorized            no valid bearer token
     ├── Forbidden               the token's role may not do this
     │    ├── ForbiddenOrigin    a browser page of another origin sent the request
     │    └── UnknownHost        a Host that is not one of the server's names
     ├── QueueFull               the queue is at --max-queue-depth
     ├── RateLimited             too many polls from one client
     ├── JobFailed               (the SDK's wait) the job ended DEAD or CANCELLED
     ├── WaitTimedOut            (the SDK's wait) the job had not finished in time
     └── ServerUnavailable       the server cannot be reached
          ├── TooManyConnections the server is at --max-connections
          └── StorageUnavailable the store did not answer or refused the write
               ├── StorageFull     the store's disk is full; free space, then retry
               └── StorageReadOnly the store's filesystem turned read-only

Each class carries a stable ``code`` that travels in error bodies, so a client can raise
the same class the server raised. ``ServerUnavailable`` is what the client raises when it
cannot reach the server at all; ``StorageUnavailable`` sits under it so that one
``except ServerUnavailable`` covers every "try again later" case.

These are domain errors: they know nothing of HTTP. The status each one answers with is
in one table, ``leaseq.server.http.errors.STATUS``.
"""

from __future__ import annotations


class LeaseqError(Exception):
    """Root of every error leaseq raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(LeaseqError):
    code = "invalid_request"


class PayloadTooLarge(InvalidRequest):
    code = "payload_too_large"


class UnsupportedMediaType(InvalidRequest):
    code = "unsupported_media_type"


class HeadersTooLarge(InvalidRequest):
    code = "headers_too_large"


class HeaderTimeout(InvalidRequest):
    code = "header_timeout"


class JobNotFound(LeaseqError):
    code = "job_not_found"


class ScheduleNotFound(LeaseqError):
    code = "schedule_not_found"


class Conflict(LeaseqError):
    code = "conflict"


class LeaseLost(Conflict):
    code = "lease_lost"


class JobCancelled(LeaseLost):
    """The job was cancelled while the caller held its lease: the holder stops, and its
    outcome is dropped. A ``LeaseLost``, so code that handles a lost lease handles it."""

    code = "job_cancelled"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class Unauthorized(LeaseqError):
    code = "unauthorized"


class Forbidden(LeaseqError):
    code = "forbidden"


class ForbiddenOrigin(Forbidden):
    """A browser sent the request for a page of another origin (cross-site request
    forgery), whatever its credentials."""

    code = "forbidden_origin"


class UnknownHost(Forbidden):
    """The ``Host`` names none of the server's names: on loopback, a DNS rebinding
    attack gives the attacker's own name."""

    code = "unknown_host"


class QueueFull(LeaseqError):
    """A producer is told to back off rather than let the store grow without bound."""

    code = "queue_full"


class RateLimited(LeaseqError):
    code = "rate_limited"


class JobFailed(LeaseqError):
    """Raised by the SDK's ``wait(..., raise_on_failure=True)``, never by the server: the
    job ended DEAD or CANCELLED. ``job`` is the job as it ended."""

    code = "job_failed"

    def __init__(self, message: str, job: object = None) -> None:
        super().__init__(message)
        self.job = job


class WaitTimedOut(LeaseqError, TimeoutError):
    """Raised by the SDK's ``wait``, never by the server: the job was not finished when
    the wait's ``timeout`` ran out. ``job`` is the job as it was then."""

    code = "wait_timed_out"

    def __init__(self, message: str, job: object = None) -> None:
        super().__init__(message)
        self.job = job


class ServerUnavailable(LeaseqError):
    code = "server_unavailable"


class TooManyConnections(ServerUnavailable):
    code = "too_many_connections"


class StorageUnavailable(ServerUnavailable):
    code = "storage_unavailable"


class StorageFull(StorageUnavailable):
    """The disk under the store is full: accepted work is safe, new writes are refused
    until space is freed, and then they succeed again without a restart."""

    code = "storage_full"


class StorageReadOnly(StorageUnavailable):
    """The filesystem under the store refuses writes (remounted read-only after an error,
    or the directory lost its write permission): reads are still answered, accepted work
    is safe, and writes succeed again without a restart once it is writable."""

    code = "storage_read_only"


# Every class the server may answer with; ``JobFailed`` and ``WaitTimedOut`` are the SDK's.
ERRORS_BY_CODE: dict[str, type[LeaseqError]] = {
    cls.code: cls
    for cls in (
        LeaseqError,
        InvalidRequest,
        PayloadTooLarge,
        UnsupportedMediaType,
        HeadersTooLarge,
        HeaderTimeout,
        JobNotFound,
        ScheduleNotFound,
        Conflict,
        LeaseLost,
        JobCancelled,
        InvalidTransition,
        Unauthorized,
        Forbidden,
        ForbiddenOrigin,
        UnknownHost,
        QueueFull,
        RateLimited,
        ServerUnavailable,
        TooManyConnections,
        StorageUnavailable,
        StorageFull,
        StorageReadOnly,
    )
}
