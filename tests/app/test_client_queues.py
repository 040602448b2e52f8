"""The SDK's queue methods in-process (``queues``, ``queue``, ``update_queue``, ``pause``,
``resume``), ``concurrency_key`` on enqueue and on tasks, and ``RateLimit.parse``."""

from __future__ import annotations

import httpx
import msgspec
import pytest
from starlette.applications import Starlette

import leaseq
from leaseq.client import AsyncClient, JobSpec, Queue, RateLimit
from leaseq.client.tasks import App
from leaseq.core.model import JobState
from tests.support.inproc import BASE_URL


def test_a_queue_never_used_has_its_defaults(client: leaseq.Client) -> None:
    q = client.queue("fresh")
    assert q == Queue(name="fresh", paused=False, concurrency=None, rate_limit=None,
                      key_concurrency=None, counts=dict.fromkeys(JobState, 0))  # fmt: skip
    assert q.counts[JobState.QUEUED] == q.counts["QUEUED"] == 0


def test_update_changes_only_what_is_given_and_none_clears(client: leaseq.Client) -> None:
    q = client.update_queue("mail", concurrency=5, rate_limit=RateLimit.parse("10/1s"))
    assert (q.concurrency, q.rate_limit, q.key_concurrency, q.paused) == (
        5, RateLimit(10, 1.0), None, False,
    )  # fmt: skip
    q = client.update_queue("mail", key_concurrency=1)
    assert (q.concurrency, q.rate_limit, q.key_concurrency) == (5, RateLimit(10, 1.0), 1)
    q = client.update_queue("mail", rate_limit=None, paused=True)
    assert (q.concurrency, q.rate_limit, q.key_concurrency, q.paused) == (5, None, 1, True)
    assert client.queue("mail") == q


def test_pause_and_resume(client: leaseq.Client) -> None:
    client.enqueue({"n": 1}, queue="held")
    assert client.pause("held").paused is True
    assert client.poll("w", ["held"]) == []
    assert [q.name for q in client.queues() if q.paused] == ["held"]
    assert client.resume("held").paused is False
    (job,) = client.poll("w", ["held"])
    assert job.attempts == 1


def test_queues_are_listed_by_name_with_counts(client: leaseq.Client) -> None:
    client.enqueue_many([JobSpec(payload=i, queue="zz") for i in range(2)])
    client.update_queue("aa", concurrency=1)
    listed = {q.name: q for q in client.queues()}
    assert list(listed) == sorted(listed) and {"aa", "zz"} <= set(listed)
    assert listed["zz"].counts["QUEUED"] == 2 and listed["aa"].concurrency == 1


def test_refusals_are_the_error_tree(client: leaseq.Client) -> None:
    with pytest.raises(leaseq.InvalidRequest, match="concurrency"):
        client.update_queue("q", concurrency=0)
    with pytest.raises(leaseq.InvalidRequest, match="at least one"):
        client.update_queue("q")
    with pytest.raises(leaseq.InvalidRequest, match="name"):
        client.pause("not a name")
    assert client.queue("q").concurrency is None


def test_concurrency_key_on_enqueue(client: leaseq.Client) -> None:
    job = client.enqueue("x", queue="keyed", concurrency_key="acct-1")
    assert job.concurrency_key == "acct-1"
    (other,) = client.enqueue_many([JobSpec(payload="y", queue="keyed", concurrency_key="b")])
    assert other.concurrency_key == "b"
    assert client.enqueue("z", queue="keyed").concurrency_key is None


def test_a_job_from_an_older_server_has_no_key() -> None:
    """A server without keys sends no ``concurrency_key``: the client's Job defaults it."""
    body = {"id": "j", "queue": "q", "task": None, "payload": 1, "state": "QUEUED",
            "priority": 0, "attempts": 0, "max_tries": 5, "run_at": "2030-01-01T00:00:00Z",
            "lease_owner": None, "lease_expires_at": None, "last_error": None, "result": None,
            "idempotency_key": None, "created_at": "2030-01-01T00:00:00Z",
            "updated_at": "2030-01-01T00:00:00Z"}  # fmt: skip
    assert msgspec.convert(body, leaseq.Job).concurrency_key is None


async def test_async_client_steers_queues(running_app: Starlette) -> None:
    async with AsyncClient(BASE_URL, transport=httpx.ASGITransport(running_app)) as c:
        assert (await c.pause("a")).paused
        q = await c.update_queue("a", concurrency=2, key_concurrency=None)
        assert (q.paused, q.concurrency) == (True, 2)
        assert not (await c.resume("a")).paused
        assert [q.name for q in await c.queues()] == ["a"]
        assert (await c.queue("a")).concurrency == 2


# -- tasks -------------------------------------------------------------------------------


def test_task_keys_fixed_per_call_and_from_the_arguments() -> None:
    app = App("http://unused")

    @app.task(queue="sync", concurrency_key="smtp")
    def send(to: str) -> None: ...

    @app.task(queue="sync", concurrency_key_of=lambda account, **_: f"acct-{account}")
    def sync(account: int, full: bool = False) -> None: ...

    @app.task(concurrency_key_of=lambda n: None if n < 0 else str(n))
    def maybe(n: int) -> None: ...

    assert send.spec(send.bind("a@b")).concurrency_key == "smtp"
    assert send.spec(send.bind("a@b"), concurrency_key="other").concurrency_key == "other"
    assert sync.spec(sync.bind(7, full=True)).concurrency_key == "acct-7"
    assert sync.spec(sync.bind(account=8)).concurrency_key == "acct-8"
    assert sync.spec(sync.bind(7), concurrency_key="given").concurrency_key == "given"
    assert maybe.spec(maybe.bind(-1)).concurrency_key is None
    assert maybe.spec(maybe.bind(3)).concurrency_key == "3"


def test_task_enqueue_with_a_key(app_server: object, client: leaseq.Client) -> None:
    app = App(BASE_URL)
    app._client = client  # the in-process client, through its transport

    @app.task(queue="tk", concurrency_key_of=lambda account: f"acct-{account}")
    def work(account: int) -> None: ...

    assert work.enqueue(1).concurrency_key == "acct-1"
    assert work.enqueue_with(concurrency_key="x")(2).concurrency_key == "x"
    assert [j.concurrency_key for j in work.enqueue_many([[3], {"account": 4}])] == [
        "acct-3", "acct-4",
    ]  # fmt: skip


# -- rates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count", "per_s", "shown"),
    [
        ("10/1s", 10, 1.0, "10/1s"), ("100/1m", 100, 60.0, "100/1m"),
        ("5/500ms", 5, 0.5, "5/500ms"), ("3600/h", 3600, 3600.0, "3600/1h"),
        ("10/s", 10, 1.0, "10/1s"), ("3/1.5s", 3, 1.5, "3/1.5s"), ("1/1d", 1, 86400.0, "1/1d"),
        (" 7 / 90s ", 7, 90.0, "7/90s"), ("2/2M", 2, 120.0, "2/2m"),
    ],
)  # fmt: skip
def test_rates_as_people_write_them(text: str, count: int, per_s: float, shown: str) -> None:
    rate = RateLimit.parse(text)
    assert (rate.count, rate.per_s, str(rate)) == (count, per_s, shown)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("10", "COUNT/WINDOW"), ("ten/1s", "COUNT/WINDOW"), ("10/2", "needs a unit"),
        ("10/1w", "unknown unit 'w'"), ("0/1s", "count must be from 1"),
        ("-1/1s", "COUNT/WINDOW"), ("10/0s", "window must be from 1ms"),
        ("10/2d", "window must be from 1ms"), ("1/0.5ms", "window must be from 1ms"),
        ("1000001/1s", "count must be from 1"), ("", "COUNT/WINDOW"),
    ],
)  # fmt: skip
def test_a_bad_rate_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        RateLimit.parse(text)
