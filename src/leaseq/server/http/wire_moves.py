"""Request bodies of the moves made on jobs by id: what a lease's holder sends about it
(heartbeat, with progress and a checkpoint; fail; release) and an operator's batch cancel.

``progress`` and ``checkpoint`` are any JSON, stored as the text they encode to and
bounded by that text's bytes (``limits.MAX_PROGRESS_BYTES``, ``MAX_CHECKPOINT_BYTES``):
the server never reads them, so their size is the only thing to check.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from leaseq.core import limits
from leaseq.errors import InvalidRequest
from leaseq.server.http.wire import (
    MAX_BATCH,
    ErrorMessage,
    ErrorText,
    ErrorType,
    LeaseSeconds,
    Name,
    Token,
    _In,
)
from leaseq.server.service import Lease, Renewal

Progress = Annotated[
    Any,
    Meta(
        description=f"Any JSON, at most {limits.MAX_PROGRESS_BYTES} bytes encoded: how far"
        " this attempt got. Cleared when the job is leased again; null leaves it as it is."
    ),
]
Checkpoint = Annotated[
    Any,
    Meta(
        description=f"Any JSON, at most {limits.MAX_CHECKPOINT_BYTES} bytes encoded: where a"
        " retry resumes. Kept across attempts and in the poll answer; null leaves it."
    ),
]


def json_text(value: Any, limit: int, path: str) -> str | None:
    """The JSON text the server stores for a field it never reads (None: not given),
    refused when over ``limit`` bytes, with the field's place in the body named."""
    if value is None:
        return None
    text = msgspec.json.encode(value)
    if len(text) > limit:
        raise InvalidRequest(f"`{path}` is {len(text)} bytes of JSON; at most {limit} are taken")
    return text.decode()


class LeaseIn(_In):
    job_id: Name
    lease_token: Token
    progress: Progress = None
    checkpoint: Checkpoint = None

    def to_lease(self, at: str) -> Lease:
        """The lease and its reports; ``at`` is where this item sits in the body."""
        return Lease(
            self.job_id,
            self.lease_token,
            json_text(self.progress, limits.MAX_PROGRESS_BYTES, f"{at}.progress"),
            json_text(self.checkpoint, limits.MAX_CHECKPOINT_BYTES, f"{at}.checkpoint"),
        )


class HeartbeatIn(LeaseIn):
    lease_seconds: LeaseSeconds | None = None

    def to_domain(self) -> Renewal:
        return Renewal([self.to_lease("$")], self.lease_seconds)


class HeartbeatBatchIn(_In):
    """One request for every lease a worker holds, instead of one request per job."""

    heartbeats: Annotated[list[LeaseIn], Meta(min_length=1, max_length=MAX_BATCH)]
    lease_seconds: LeaseSeconds | None = None

    def to_domain(self) -> Renewal:
        leases = [h.to_lease(f"$.heartbeats[{i}]") for i, h in enumerate(self.heartbeats)]
        return Renewal(leases, self.lease_seconds)


class FailIn(_In):
    job_id: Name
    lease_token: Token
    error: ErrorText | None = None
    """The whole text the job keeps as ``last_error`` (the traceback)."""
    error_type: ErrorType | None = None
    """The exception's class name (``ValueError``): dead letters group by it."""
    error_message: ErrorMessage | None = None
    """The exception's message, apart from the traceback."""
    retry: bool = True
    checkpoint: Checkpoint = None

    def checkpoint_text(self) -> str | None:
        return json_text(self.checkpoint, limits.MAX_CHECKPOINT_BYTES, "$.checkpoint")


class ReleaseIn(_In):
    job_id: Name
    lease_token: Token


class CancelBatchIn(_In):
    """Jobs to cancel, each answered on its own as a batch ack is."""

    job_ids: Annotated[list[Name], Meta(min_length=1, max_length=MAX_BATCH)]
