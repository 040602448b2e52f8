"""The blocking client: a thin shell that sends the shared ``Call`` descriptions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, TypeVar, Unpack

import httpx
import tenacity

from leaseq.client import calls
from leaseq.client.base import ClientBase, RetryPolicy
from leaseq.client.calls import Call, EnqueueOptions
from leaseq.client.models import (
    AckSpec,
    BatchOutcome,
    EventPage,
    Health,
    Job,
    JobSpec,
    Page,
    QueueStats,
)
from leaseq.core.model import JobState

T = TypeVar("T")


class Client(ClientBase):
    """``Client(url, token)``: every endpoint as a method; errors are ``leaseq.errors``.

    Pass ``transport`` (any httpx transport) to run in-process, for example in tests.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(url, token, timeout=timeout, retry=retry)
        self._http = httpx.Client(transport=transport, **self._http_options())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def send(self, call: Call[T]) -> T:
        """Sends one call, retrying as the policy and the call's safety allow."""
        result: T = tenacity.Retrying(**self.retry.options(call))(self._send_once, call)
        return result

    def _send_once(self, call: Call[T]) -> T:
        try:
            response = self._http.request(**self._request(call))
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        return call.result(response.status_code, response.content)

    # -- endpoints (see ``leaseq.client.calls`` for what each one sends) ------------------

    def enqueue(self, payload: Any, **options: Unpack[EnqueueOptions]) -> Job:
        return self.send(calls.enqueue(payload, options))

    def enqueue_many(self, specs: Iterable[JobSpec]) -> list[Job]:
        return self.send(calls.enqueue_many(specs))

    def poll(
        self,
        worker_id: str,
        queues: Sequence[str] = ("default",),
        *,
        max_jobs: int = 1,
        lease_seconds: float | None = None,
        wait: float = 0.0,
    ) -> list[Job]:
        return self.send(calls.poll(worker_id, queues, max_jobs, lease_seconds, wait))

    def ack(self, job_id: str, lease_token: str, result: Any = None) -> Job:
        return self.send(calls.ack(job_id, lease_token, result))

    def ack_many(self, acks: Iterable[AckSpec]) -> list[BatchOutcome]:
        return self.send(calls.ack_many(acks))

    def fail(
        self, job_id: str, lease_token: str, error: str | None = None, *, retry: bool = True
    ) -> Job:
        return self.send(calls.fail(job_id, lease_token, error, retry))

    def heartbeat(self, job_id: str, lease_token: str, lease_seconds: float | None = None) -> Job:
        return self.send(calls.heartbeat(job_id, lease_token, lease_seconds))

    def heartbeat_many(
        self, leases: Iterable[tuple[str, str]], lease_seconds: float | None = None
    ) -> list[BatchOutcome]:
        """Extends every ``(job_id, lease_token)`` lease in one request."""
        return self.send(calls.heartbeat_many(leases, lease_seconds))

    def release(self, job_id: str, lease_token: str) -> Job:
        return self.send(calls.release(job_id, lease_token))

    def get_job(self, job_id: str) -> Job:
        return self.send(calls.get_job(job_id))

    def list_jobs(
        self,
        *,
        state: JobState | str | None = None,
        queue: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        return self.send(calls.list_jobs(state, queue, limit, cursor))

    def list_dead(
        self, *, queue: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> Page:
        return self.send(calls.list_dead(queue, limit, cursor))

    def events(self, job_id: str, *, limit: int = 100, cursor: str | None = None) -> EventPage:
        """One page of the job's history, oldest first."""
        return self.send(calls.events(job_id, limit, cursor))

    def requeue_dead(
        self, job_ids: Sequence[str] | None = None, *, queue: str | None = None
    ) -> int:
        return self.send(calls.requeue_dead(job_ids, queue))

    def cancel(self, job_id: str) -> Job:
        return self.send(calls.cancel(job_id))

    def stats(self) -> dict[str, QueueStats]:
        return self.send(calls.stats())

    def health(self) -> Health:
        return self.send(calls.health())
