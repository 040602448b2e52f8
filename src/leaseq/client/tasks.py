"""``App`` and ``Task``: register Python functions as tasks and enqueue calls to them.

A job made by ``Task.enqueue`` carries the task's name in ``task`` and the call in
``payload`` as ``{"args": [...], "kwargs": {...}}``. That shape is the whole contract, so a
producer in any language can enqueue work for a Python worker over plain HTTP.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, ParamSpec, TypeVar, Unpack

from leaseq.client import Client, EnqueueOptions, Job, JobSpec, RetryPolicy
from leaseq.core import limits

P = ParamSpec("P")
R = TypeVar("R")


class Permanent(Exception):
    """Raise from a task to fail its job at once, without retrying (``retry: false``)."""


@dataclass(frozen=True, slots=True)
class Invocation:
    """One call of a task, for ``enqueue_many``: made by ``Task.bind(*args, **kwargs)``."""

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {"args": list(self.args), "kwargs": self.kwargs}


def as_invocation(item: Invocation | Mapping[str, Any] | Sequence[Any]) -> Invocation:
    """``enqueue_many`` items: an ``Invocation``, a mapping of keyword arguments, or a
    sequence of positional arguments (a string is refused: it is almost always a bug)."""
    if isinstance(item, Invocation):
        return item
    if isinstance(item, Mapping):
        return Invocation(kwargs=dict(item))
    if isinstance(item, str | bytes):
        raise TypeError("give a list or tuple of positional arguments, not a string")
    return Invocation(args=tuple(item))


class Task(Generic[P, R]):
    """A registered function. Calling it runs it here; ``enqueue`` runs it on a worker."""

    def __init__(self, app: App, fn: Callable[P, R], name: str, options: EnqueueOptions) -> None:
        self.app = app
        self.fn = fn
        self.name = name
        self.options = options
        self.is_async = inspect.iscoroutinefunction(fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Task {self.name} queue={self.options.get('queue', limits.DEFAULT_QUEUE)}>"

    def bind(self, *args: P.args, **kwargs: P.kwargs) -> Invocation:
        return Invocation(args, kwargs)

    def spec(self, invocation: Invocation, **options: Unpack[EnqueueOptions]) -> JobSpec:
        """The job for one call, for clients that batch or enqueue asynchronously."""
        merged: EnqueueOptions = {**self.options, **options, "task": self.name}
        return JobSpec(payload=invocation.payload(), **merged)

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> Job:
        return self.app.client.enqueue_many([self.spec(Invocation(args, kwargs))])[0]

    def enqueue_with(self, **options: Unpack[EnqueueOptions]) -> Callable[P, Job]:
        """``task.enqueue_with(delay=60, idempotency_key="k")(*args, **kwargs)``."""

        def enqueue(*args: P.args, **kwargs: P.kwargs) -> Job:
            spec = self.spec(Invocation(args, kwargs), **options)
            return self.app.client.enqueue_many([spec])[0]

        return enqueue

    def enqueue_many(
        self, items: Iterable[Invocation | Mapping[str, Any] | Sequence[Any]]
    ) -> list[Job]:
        """Enqueues many calls in batch requests of up to ``limits.MAX_BATCH`` jobs each;
        each batch is all or nothing on the server."""
        specs = [self.spec(as_invocation(item)) for item in items]
        jobs: list[Job] = []
        for start in range(0, len(specs), limits.MAX_BATCH):
            jobs += self.app.client.enqueue_many(specs[start : start + limits.MAX_BATCH])
        return jobs


class App:
    """A set of tasks and the server they are enqueued to (``LEASEQ_URL`` by default)."""

    def __init__(
        self, url: str | None = None, token: str | None = None, *, retry: RetryPolicy | None = None
    ) -> None:
        self.url = url
        self.token = token
        self.retry = retry
        self.tasks: dict[str, Task[Any, Any]] = {}
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        """The producer's client, made on first use so importing an app opens nothing."""
        if self._client is None:
            self._client = Client(self.url, self.token, retry=self.retry)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> App:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def task(
        self, *, name: str | None = None, **options: Unpack[EnqueueOptions]
    ) -> Callable[[Callable[P, R]], Task[P, R]]:
        """Registers ``fn`` under ``name`` (default: the function's name, short so other
        languages can name it too); ``options`` are the defaults of its jobs."""

        def register(f: Callable[P, R]) -> Task[P, R]:
            task_name = name or f.__name__
            if task_name in self.tasks:
                raise ValueError(f"a task named {task_name!r} is already registered")
            task = Task(self, f, task_name, options)
            self.tasks[task_name] = task
            return task

        return register
