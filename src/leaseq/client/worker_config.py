"""What a worker is told (``WorkerConfig``, validated once) and which queues it serves
when it is told none (``queues_of``)."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field

from leaseq.client.tasks import App
from leaseq.core import limits


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Everything a worker is told, validated once (flags and ``LEASEQ_*`` feed it).
    No ``queues`` means the queues of the app's tasks (``queues_of``)."""

    queues: tuple[str, ...] = ()
    concurrency: int = 8
    lease_seconds: float = limits.DEFAULT_LEASE_S
    grace: float = 30.0
    poll_wait: float = 10.0
    worker_id: str = field(default_factory=default_worker_id)
    put_schedules: bool = True
    """Put the app's declared schedules on the server at start."""

    def __post_init__(self) -> None:
        checks = [
            (all(self.queues), "a queue name cannot be empty"),
            (
                1 <= self.concurrency <= limits.MAX_WORKER_CONCURRENCY,
                f"concurrency must be between 1 and {limits.MAX_WORKER_CONCURRENCY}",
            ),
            (self.grace >= 0, "grace must be >= 0"),
            (
                0 < self.poll_wait <= limits.MAX_POLL_WAIT_S,
                f"poll_wait must be in (0, {limits.MAX_POLL_WAIT_S:g}]",
            ),
        ]
        problems = [message for ok, message in checks if not ok]
        if lease := limits.lease_problem(self.lease_seconds):
            problems.append(lease)
        if problems:
            raise ValueError("invalid worker settings: " + "; ".join(problems))


def queues_of(app: App) -> tuple[str, ...]:
    """The queues the app's tasks are declared on, in order; the default queue if none."""
    named = (task.options.get("queue", limits.DEFAULT_QUEUE) for task in app.tasks.values())
    return tuple(dict.fromkeys(named)) or (limits.DEFAULT_QUEUE,)
