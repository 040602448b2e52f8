"""Every limit and default of the API, written once.

The wire structs enforce these, the OpenAPI document states them, the server's settings
validate against them, and the client, the worker and the CLI size their batches by them;
a change here is a change of the API everywhere at once.
"""

from __future__ import annotations

MAX_BATCH = 1000
"""Items in one batch request (enqueue, ack, heartbeat, requeue) and jobs in one page."""

MAX_POLL_JOBS = 100
"""Jobs one poll may lease."""

MAX_POLL_QUEUES = 100
MAX_POLL_ACKS = 100
"""Acks one poll may carry (the fused ack-and-poll: a worker's finished jobs)."""
"""Queues one poll may name."""

MAX_POLL_WAIT_S = 30.0
"""Longest long poll, seconds."""

KNOWN_WORKER_WINDOW_S = 300.0
"""A worker seen this recently is known: ``GET /workers``' default window and the
``leaseq_known_workers`` gauge's."""

MAX_WORKER_WINDOW_S = 7 * 86400.0
"""The longest window ``GET /workers`` looks back (``within``)."""

MAX_WORKER_CONCURRENCY = 10_000
"""The most jobs a worker may say it runs at once (``concurrency`` of a poll)."""

MIN_LEASE_S = 1.0
MAX_LEASE_S = 43200.0
"""A lease lasts between a second and twelve hours."""

DEFAULT_LEASE_S = 30.0

MIN_TIMEOUT_S = 1
MAX_TIMEOUT_S = 43200
"""A job's ``timeout``, the longest one attempt may run: a second to twelve hours."""

MAX_PROGRESS_BYTES = 64 * 1024
"""A heartbeat's ``progress``, as encoded JSON."""
MAX_CHECKPOINT_BYTES = 1024 * 1024
"""A heartbeat's or a fail's ``checkpoint``, as encoded JSON (a request body must also
fit in ``--max-body``, 1 MiB by default)."""

MAX_TRIES = 1000
DEFAULT_MAX_TRIES = 5

MAX_DELAY_S = 10 * 365 * 86400.0
"""The furthest ``delay`` ahead: ten years."""

MAX_ERROR_CHARS = 65536
"""Longest ``error`` text a fail may carry."""
MAX_ERROR_TYPE_CHARS = 256
"""An exception's class name, as a failure reports it apart from the traceback."""
MAX_ERROR_MESSAGE_CHARS = 4096
"""An exception's message, as a failure reports it apart from the traceback."""

MAX_NAME_CHARS = 256
"""Longest id, task name, worker id or idempotency key."""

MAX_QUEUE_NAME_CHARS = 128

MAX_TAGS = 20
"""Tags one job may carry."""
MAX_TAG_CHARS = 64

MAX_JOB_WAIT_S = 30.0
"""Longest ``GET /jobs/{id}?wait=``, seconds: as long as a long poll."""

DEFAULT_QUEUE = "default"

DEFAULT_PAGE = 100
"""Jobs or events per page when the caller does not say."""


def lease_problem(lease_seconds: float) -> str | None:
    """The message for a lease length out of bounds, shared by every settings object."""
    if MIN_LEASE_S <= lease_seconds <= MAX_LEASE_S:
        return None
    return f"lease_seconds must be between {MIN_LEASE_S:g} and {MAX_LEASE_S:g}"


MAX_QUEUE_CONCURRENCY = 1_000_000
"""The largest ``concurrency`` or ``key_concurrency`` a queue may be given."""

MAX_RATE_COUNT = 1_000_000
"""The largest ``rate_limit.count``."""

MAX_RATE_WINDOW_S = 86400.0
"""The longest ``rate_limit.per_s`` window: a day."""

MAX_CONCURRENCY_KEY_CHARS = 200

MAX_JSON_DEPTH = 128
"""Deepest nesting of arrays and objects in a request body, the envelope included (a
batch's ``{"jobs": [{"payload": ...}]}`` spends three levels): serde_json's default.
Deeper JSON is a 422 before it is decoded, so no body can exhaust the decoder's stack."""

MIN_YEAR = 1000
MAX_YEAR = 9999
"""A ``run_at`` must fall within these years in UTC: RFC 3339 writes a year in exactly
four digits, and every answer must stay RFC 3339 for the clients to read it."""

MAX_HEADER_BYTES = 32 * 1024
"""Request line plus headers of one request (nginx's 4 x 8 KiB large buffers); 431 above."""

HEADER_TIMEOUT_S = 10.0
"""From a connection's start, or a request's first byte, to the end of its headers; 408
after it. A connection that says nothing at all is closed after this too."""

KEEP_ALIVE_S = 5.0
"""An idle keep-alive connection is closed after this many seconds."""

FD_HEADROOM = 100
"""File descriptors kept free of client sockets when the connection cap is automatic: the
store (SQLite's file, WAL and shm, or PostgreSQL's pool of 16 plus a listener), log files,
the event loop's own, and the sockets refused with a 503 while they drain."""

MAX_SCHEDULE_NAME_CHARS = 128
"""Longest schedule name. A slot's job key is ``schedule:{name}:{slot}``, which must fit
in ``MAX_NAME_CHARS`` with its 34 other characters."""

SCHEDULE_NAME_PATTERN = rf"^[A-Za-z0-9_.:-]{{1,{MAX_SCHEDULE_NAME_CHARS}}}(?!\n)$"
"""Ends ``(?!\n)$``: Python's ``$`` (msgspec validates with ``re``) also matches before a
final newline, which JSON Schema's (ECMA) ``$`` does not; without the lookahead
``"nightly\n"`` would pass as a name and forge lines in logs."""
"""Schedule names are spelt like queue names: they appear in URLs, keys and metrics."""

MIN_EVERY_S = 1.0
MAX_EVERY_S = 366 * 86400.0
"""An ``every`` schedule is due between every second and once a year; longer periods are
a cron expression's business."""

MAX_CRON_CHARS = 256

DEFAULT_ANSWER_BYTES = 16 * 1024 * 1024
"""The byte budget of one answer (``--max-answer-bytes``): a poll, or a page of jobs or
events, stops before the job or event that would pass it, always answering one."""
