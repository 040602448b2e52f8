"""The poll's answer on the wire: the jobs leased and, for the fused ack-and-poll, what
each ack it carried did (apart from ``wire``, whose budget the request side fills)."""

from __future__ import annotations

from msgspec import Struct

from leaseq.server.http.wire import ErrorBody, LeasedJobOut


class AckResult(Struct, omit_defaults=True):
    """What an ack carried by a poll did: 200, or the error ``POST /ack`` would answer."""

    job_id: str
    status: int
    error: ErrorBody | None = None


class LeasedJobsEnvelope(Struct, omit_defaults=True):
    jobs: list[LeasedJobOut]
    acks: list[AckResult] | None = None  # only when the poll carried acks
