"""``App`` and ``Task``: register Python functions as tasks and enqueue calls to them.

A job made by ``Task.enqueue`` carries the task's name in ``task`` and the call in
``payload`` as ``{"args": [...], "kwargs": {...}}``. That shape is the whole contract, so a
producer in any language can enqueue work for a Python worker over plain HTTP.

An app also declares schedules (``@app.task(cron=...)``, ``app.schedule(...)``): the
server enqueues their jobs, and ``leaseq worker`` puts them there at start. A declared
schedule never says ``paused``, so every worker may put it again without unpausing one
an operator paused.

A job's ``concurrency_key`` (limited by its queue's ``key_concurrency``) is one more
enqueue option: fixed for the task (``@app.task(concurrency_key="smtp")``), given for one
call (``task.enqueue_with(concurrency_key="acct-7")(...)``), or made from each call's
arguments (``@app.task(concurrency_key_of=lambda account, **_: f"acct-{account}")``),
which is what ``enqueue_many`` needs when each job has its own key.

Tags work the same way (``@app.task(tags=["billing"])``, ``enqueue_with(tags=[...])``),
except that a call's tags add to the task's instead of replacing them. A job enqueued
through a task can be waited for: ``send.enqueue(...).wait(timeout=30)``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Literal, ParamSpec, TypeVar, Unpack

from msgspec.structs import asdict, replace

from leaseq.client import (
    Client,
    EnqueueOptions,
    Job,
    JobSpec,
    RetryPolicy,
    Schedule,
    schedule_calls,
)
from leaseq.client.batching import DEFAULT_BATCH_BYTES, batches
from leaseq.client.calls import Call
from leaseq.core import limits
from leaseq.core.schedules import Cadence

P = ParamSpec("P")
R = TypeVar("R")

KeyOf = Callable[..., str | None]
"""Called with a call's arguments; its answer is the job's ``concurrency_key`` (None:
no key). Typed loosely: a key function usually takes only the argument it needs."""


Overlap = Literal["allow", "skip"]

SET_BY_SLOT = frozenset({"delay", "run_at", "idempotency_key", "idempotency_scope"})
"""Options a schedule's slot decides for its job (when it runs, its key)."""

_SCHEDULE_NAME = re.compile(limits.SCHEDULE_NAME_PATTERN)


class Permanent(Exception):
    """Raise from a task to fail its job at once, without retrying (``retry: false``)."""


class TaskJob(Job, frozen=True, kw_only=True, dict=True):
    """The job a ``Task`` enqueued: a ``Job`` (equal only to another ``TaskJob``) that can
    ``wait`` for its result through the app's client."""

    @classmethod
    def of(cls, job: Job, client: Client) -> TaskJob:
        bound = cls(**asdict(job))
        bound.__dict__["_client"] = client  # not a field: never sent, shown or compared
        return bound

    def wait(self, timeout: float = 30.0, *, raise_on_failure: bool = False) -> Job:
        """The job once finished (``Client.wait``: ``WaitTimedOut`` after ``timeout``
        seconds; ``JobFailed`` for DEAD or CANCELLED with ``raise_on_failure``)."""
        client: Client = self.__dict__["_client"]
        return client.wait(self.id, timeout, raise_on_failure=raise_on_failure)


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

    def __init__(
        self,
        app: App,
        fn: Callable[P, R],
        name: str,
        options: EnqueueOptions,
        key_of: KeyOf | None = None,
    ) -> None:
        self.app = app
        self.fn = fn
        self.name = name
        self.options = options
        self.key_of = key_of
        self.is_async = inspect.iscoroutinefunction(fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Task {self.name} queue={self.options.get('queue', limits.DEFAULT_QUEUE)}>"

    def bind(self, *args: P.args, **kwargs: P.kwargs) -> Invocation:
        return Invocation(args, kwargs)

    def spec(self, invocation: Invocation, **options: Unpack[EnqueueOptions]) -> JobSpec:
        """The job for one call, for clients that batch or enqueue asynchronously. The
        options given here win over the key made by ``concurrency_key_of``, which wins
        over the task's own options; ``tags`` add up (the task's first)."""
        merged: EnqueueOptions = {**self.options, **self._key(invocation), **options,
                                  "task": self.name}  # fmt: skip
        if "tags" in self.options and "tags" in options:
            merged["tags"] = list(dict.fromkeys([*self.options["tags"], *options["tags"]]))
        return JobSpec(payload=invocation.payload(), **merged)

    def _key(self, invocation: Invocation) -> EnqueueOptions:
        if self.key_of is None:
            return {}
        key = self.key_of(*invocation.args, **invocation.kwargs)
        return {} if key is None else {"concurrency_key": key}

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> TaskJob:
        client = self.app.client
        return TaskJob.of(client.enqueue_spec(self.spec(Invocation(args, kwargs))), client)

    def enqueue_with(self, **options: Unpack[EnqueueOptions]) -> Callable[P, TaskJob]:
        """``task.enqueue_with(delay=60, idempotency_key="k")(*args, **kwargs)``; also
        ``concurrency_key="acct-7"`` to set this job's key, ``tags=[...]`` to add tags."""

        def enqueue(*args: P.args, **kwargs: P.kwargs) -> TaskJob:
            spec = self.spec(Invocation(args, kwargs), **options)
            return TaskJob.of(self.app.client.enqueue_spec(spec), self.app.client)

        return enqueue

    def enqueue_many(
        self,
        items: Iterable[Invocation | Mapping[str, Any] | Sequence[Any]],
        *,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> list[Job]:
        """Enqueues many calls in batch requests of up to ``limits.MAX_BATCH`` jobs and
        ``batch_bytes`` of encoded specs each (``batching.batches``: under the server's
        ``--max-body``); each batch is all or nothing on the server, so a failure
        leaves the batches before it enqueued."""
        specs = (self.spec(as_invocation(item)) for item in items)
        jobs: list[Job] = []
        for batch in batches(specs, batch_bytes):
            jobs += self.app.client.enqueue_many(batch)
        return jobs


@dataclass(frozen=True, slots=True)
class ScheduleDef:
    """A schedule an app declares: its name, when (``cron`` in ``timezone``, or
    ``every`` seconds) and the job each slot enqueues. Checked when declared, with the
    rules the server applies, so a bad expression fails at import, not on a server."""

    name: str
    job: JobSpec
    cron: str | None = None
    every: float | None = None
    timezone: str = "UTC"
    overlap: Overlap = "allow"

    def __post_init__(self) -> None:
        if not _SCHEDULE_NAME.match(self.name):
            raise ValueError(
                f"{self.name!r} is not a schedule name (1-{limits.MAX_SCHEDULE_NAME_CHARS}"
                " of A-Z a-z 0-9 _ . : -); give app.schedule() a name"
            )
        every_ms = None if self.every is None else round(self.every * 1000)
        Cadence(cron=self.cron, every_ms=every_ms, timezone=self.timezone)

    def call(self) -> Call[Schedule]:
        """The PUT that creates or replaces it, for either client's ``send``; ``paused``
        left out, so a replaced schedule keeps its pause."""
        cadence = schedule_calls.cadence(self.cron, self.every, self.timezone)
        return schedule_calls.put_schedule(self.name, cadence, self.job, None, self.overlap)


class App:
    """A set of tasks and the server they are enqueued to (``LEASEQ_URL`` by default)."""

    def __init__(
        self, url: str | None = None, token: str | None = None, *, retry: RetryPolicy | None = None
    ) -> None:
        self.url = url
        self.token = token
        self.retry = retry
        self.tasks: dict[str, Task[Any, Any]] = {}
        self.schedules: dict[str, ScheduleDef] = {}
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
        self,
        *,
        name: str | None = None,
        cron: str | None = None,
        every: float | None = None,
        timezone: str = "UTC",
        overlap: Overlap = "allow",
        concurrency_key_of: KeyOf | None = None,
        **options: Unpack[EnqueueOptions],
    ) -> Callable[[Callable[P, R]], Task[P, R]]:
        """Registers ``fn`` under ``name`` (default: the function's name, short so other
        languages can name it too); ``options`` are the defaults of its jobs, and
        ``concurrency_key_of``, called with each call's arguments, gives its job's key.
        With ``cron`` (in ``timezone``) or ``every`` seconds, it also declares a schedule
        of the same name that calls the task with no arguments."""

        def register(f: Callable[P, R]) -> Task[P, R]:
            task_name = name or f.__name__
            if task_name in self.tasks:
                raise ValueError(f"a task named {task_name!r} is already registered")
            task = Task(self, f, task_name, options, concurrency_key_of)
            self.tasks[task_name] = task
            if cron is not None or every is not None:
                self.schedule(task_name, task, cron=cron, every=every, timezone=timezone,
                              overlap=overlap)  # fmt: skip
            return task

        return register

    def schedule(
        self,
        name: str,
        task: Task[..., Any],
        /,
        *,
        cron: str | None = None,
        every: float | None = None,
        timezone: str = "UTC",
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        overlap: Overlap = "allow",
        **options: Unpack[EnqueueOptions],
    ) -> ScheduleDef:
        """Declares schedule ``name``: ``task(*args, **kwargs)`` at each slot, with the
        task's job options and ``options`` over them (``leaseq worker`` puts it)."""
        refused = sorted(SET_BY_SLOT & set(options))
        if refused:
            raise ValueError(f"a schedule's slot sets {', '.join(refused)}; remove them")
        if name in self.schedules:
            raise ValueError(f"a schedule named {name!r} is already declared")
        # The task's own defaults may say when or how uniquely to enqueue: not here.
        spec = task.spec(Invocation(tuple(args), dict(kwargs or {})), **options)
        job = replace(spec, delay=None, run_at=None, idempotency_key=None, idempotency_scope=None)
        declared = ScheduleDef(name, job, cron, every, timezone, overlap)
        self.schedules[name] = declared
        return declared

    def put_schedules(self) -> list[Schedule]:
        """Creates or replaces every declared schedule, keeping each one's pause (what
        ``leaseq worker`` does at start)."""
        return [self.client.send(declared.call()) for declared in self.schedules.values()]
