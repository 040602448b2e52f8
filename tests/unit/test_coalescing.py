"""``leaseq.client.coalescing`` with fake senders: who sends what, and who gets which
answer. The real server is in ``tests/sdk/test_coalescing.py``."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import pytest

from leaseq.client.coalescing import AsyncCoalescer, Coalescer, _Slot
from leaseq.client.models import Job, JobSpec
from leaseq.core.model import JobState
from leaseq.errors import InvalidRequest, ServerUnavailable

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def job_of(spec: JobSpec) -> Job:
    return Job(id=f"job-{spec.payload}", queue=spec.queue, task=None, payload=spec.payload,
               state=JobState.QUEUED, priority=0, attempts=0, max_tries=3, run_at=NOW,
               lease_owner=None, lease_expires_at=None, last_error=None, result=None,
               idempotency_key=None, created_at=NOW, updated_at=NOW)  # fmt: skip


def check(spec: JobSpec) -> None:
    if spec.payload == "bad":
        raise InvalidRequest("payload: bad")


class FakeServer:
    """Records each request's payloads; the first request blocks until ``release``."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.requests: list[list[object]] = []
        self.senders: list[str] = []
        self.first_in = threading.Event()
        self.release = threading.Event()
        self.fail_with = fail_with

    def _record(self, specs: list[JobSpec]) -> None:
        self.requests.append([s.payload for s in specs])
        self.senders.append(threading.current_thread().name)
        if len(self.requests) == 1:
            self.first_in.set()
            assert self.release.wait(10)
        if self.fail_with is not None:
            raise self.fail_with

    def one(self, spec: JobSpec) -> Job:
        self._record([spec])
        check(spec)
        return job_of(spec)

    def many(self, specs: list[JobSpec]) -> list[Job]:
        self._record(specs)
        for spec in specs:
            check(spec)  # a batch is refused whole
        return [job_of(s) for s in specs]


def run_threads(
    coalescer: Coalescer,
    server: FakeServer,
    payloads: list[str],
    keyed: frozenset[str] = frozenset(),
) -> dict[str, object]:
    """The first payload's caller sends alone and is held; the others arrive meanwhile."""
    answers: dict[str, object] = {}

    def call(payload: str) -> None:
        try:
            key = f"k-{payload}" if payload in keyed else None
            answers[payload] = coalescer.enqueue(JobSpec(payload=payload, idempotency_key=key)).id
        except Exception as exc:  # the test reads which caller got what
            answers[payload] = exc

    first = threading.Thread(target=call, args=(payloads[0],), name="t-0")
    first.start()
    assert server.first_in.wait(10)
    others = [threading.Thread(target=call, args=(p,), name=f"t-{i + 1}")
              for i, p in enumerate(payloads[1:])]  # fmt: skip
    for t in others:
        t.start()
    deadline = time.monotonic() + 10
    while len(coalescer._pending) < len(others) and time.monotonic() < deadline:
        time.sleep(0.005)
    server.release.set()
    for t in [first, *others]:
        t.join(10)
    return answers


def test_threads_arriving_while_one_is_out_go_in_one_request() -> None:
    server = FakeServer()
    answers = run_threads(Coalescer(server.one, server.many), server, ["a", "b", "c", "d"])
    assert server.requests == [["a"], ["b", "c", "d"]]
    assert answers == {p: f"job-{p}" for p in "abcd"}
    # The first caller did not send for the others: one of them did.
    assert server.senders[0] == "t-0" and server.senders[1] != "t-0"


def test_a_refused_batch_is_sent_again_one_by_one_and_fails_only_its_caller() -> None:
    server = FakeServer()
    answers = run_threads(Coalescer(server.one, server.many), server, ["a", "b", "bad", "d"])
    assert server.requests == [["a"], ["b", "bad", "d"], ["b"], ["bad"], ["d"]]
    assert isinstance(answers.pop("bad"), InvalidRequest)
    assert answers == {"a": "job-a", "b": "job-b", "d": "job-d"}


def test_an_unreachable_server_fails_every_caller_of_the_batch_once() -> None:
    server = FakeServer(fail_with=ServerUnavailable("down"))
    answers = run_threads(Coalescer(server.one, server.many), server, ["a", "b", "c"])
    assert server.requests == [["a"], ["b", "c"]]
    assert all(isinstance(a, ServerUnavailable) for a in answers.values())


def test_keyed_and_unkeyed_specs_go_in_separate_requests() -> None:
    """A batch is retried after a lost connection only when every spec has a key."""
    server = FakeServer()
    coalescer = Coalescer(server.one, server.many)
    answers = run_threads(coalescer, server, ["a", "b", "c", "d", "e"], frozenset({"b", "d"}))
    assert server.requests == [["a"], ["b", "d"], ["c", "e"]]
    assert answers == {p: f"job-{p}" for p in "abcde"}


def test_a_lone_caller_sends_the_single_form_each_time() -> None:
    server = FakeServer()
    server.release.set()
    coalescer = Coalescer(server.one, server.many)
    assert [coalescer.enqueue(JobSpec(payload=p)).id for p in "xyz"] == ["job-x", "job-y", "job-z"]
    assert server.requests == [["x"], ["y"], ["z"]]


class AsyncFakeServer:
    def __init__(self) -> None:
        self.requests: list[list[object]] = []
        self.release = asyncio.Event()

    async def one(self, spec: JobSpec) -> Job:
        return (await self.many([spec]))[0]

    async def many(self, specs: list[JobSpec]) -> list[Job]:
        self.requests.append([s.payload for s in specs])
        if len(self.requests) == 1:
            await self.release.wait()
        for spec in specs:
            check(spec)
        return [job_of(s) for s in specs]


async def start_tasks(
    coalescer: AsyncCoalescer, payloads: list[str]
) -> dict[str, asyncio.Task[Job]]:
    """The first payload's task sends alone (held by the server); the others start while
    its request is out."""
    tasks = {payloads[0]: asyncio.create_task(coalescer.enqueue(JobSpec(payload=payloads[0])))}
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    for p in payloads[1:]:
        tasks[p] = asyncio.create_task(coalescer.enqueue(JobSpec(payload=p)))
    await asyncio.sleep(0)
    return tasks


async def test_tasks_arriving_while_one_is_out_go_in_one_request() -> None:
    server = AsyncFakeServer()
    tasks = await start_tasks(AsyncCoalescer(server.one, server.many), list("abcd"))
    server.release.set()
    assert [j.id for j in await asyncio.gather(*tasks.values())] == [f"job-{p}" for p in "abcd"]
    assert server.requests == [["a"], ["b", "c", "d"]]


async def test_async_refusal_reaches_only_its_caller_and_a_cancelled_caller_harms_none() -> None:
    server = AsyncFakeServer()
    coalescer = AsyncCoalescer(server.one, server.many)
    tasks = await start_tasks(coalescer, ["a", "b", "bad", "c"])
    tasks["c"].cancel()
    server.release.set()
    assert (await tasks["a"]).id == "job-a"
    assert (await tasks["b"]).id == "job-b"
    with pytest.raises(InvalidRequest):
        await tasks["bad"]
    with pytest.raises(asyncio.CancelledError):
        await tasks["c"]
    assert server.requests == [["a"], ["b", "bad", "c"], ["b"], ["bad"], ["c"]]
    # The coalescer is idle again: the next call goes alone.
    assert (await coalescer.enqueue(JobSpec(payload="e"))).id == "job-e"
    assert server.requests[-1] == ["e"]


def test_an_async_coalescer_serves_a_second_event_loop() -> None:
    """One client under ``asyncio.run`` twice, the first run ending while its drain was
    out: the cancelled drain leaves nothing behind for the second run to wait on."""
    server = AsyncFakeServer()
    coalescer = AsyncCoalescer(server.one, server.many)

    async def cut_off() -> None:
        server.release = asyncio.Event()  # never set: the first request hangs
        asyncio.get_running_loop().create_task(coalescer.enqueue(JobSpec(payload="a")))
        await asyncio.sleep(0.01)

    asyncio.run(cut_off())

    async def again() -> str:
        return (await coalescer.enqueue(JobSpec(payload="b"))).id

    assert asyncio.run(asyncio.wait_for(again(), 5)) == "job-b"


@pytest.mark.parametrize("when", ["before its turn", "at its turn"])
def test_a_caller_interrupted_while_waiting_leaves_no_one_waiting_for_it(when: str) -> None:
    """Its spec is not sent, and the turn to send, handed to it or not, goes on."""
    server = FakeServer()
    coalescer = Coalescer(server.one, server.many)
    done: dict[str, str] = {}

    def call(payload: str) -> None:
        done[payload] = coalescer.enqueue(JobSpec(payload=payload)).id

    first = threading.Thread(target=call, args=("a",))
    first.start()
    assert server.first_in.wait(10)
    gone = _Slot()  # a caller about to be interrupted, pending right behind the first
    with coalescer._lock:
        coalescer._pending.append((JobSpec(payload="gone"), gone))
    later = threading.Thread(target=call, args=("b",))
    later.start()
    deadline = time.monotonic() + 10
    while len(coalescer._pending) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    if when == "at its turn":
        server.release.set()
        assert gone.woken.wait(10) and gone.lead  # the first caller handed it the turn
    coalescer._leave(gone)  # what its ``except BaseException`` does
    server.release.set()
    first.join(10)
    later.join(10)
    assert done == {"a": "job-a", "b": "job-b"}
    assert server.requests == [["a"], ["b"]]


async def test_a_lone_async_caller_sends_from_its_own_task() -> None:
    """No drain task for a call nobody else is beside: the client's CPU per lone enqueue
    is what it was before coalescing (``benchmarks.client_cpu``)."""
    senders: list[asyncio.Task[object] | None] = []

    async def one(spec: JobSpec) -> Job:
        senders.append(asyncio.current_task())
        return job_of(spec)

    async def many(specs: list[JobSpec]) -> list[Job]:
        raise AssertionError("a lone call is never sent as a batch")

    coalescer = AsyncCoalescer(one, many)
    for p in "xy":
        assert (await coalescer.enqueue(JobSpec(payload=p))).id == f"job-{p}"
    assert senders == [asyncio.current_task()] * 2
