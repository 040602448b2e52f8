"""Tags, finding jobs and waiting for results through the SDK, against a real server and
real worker processes (``tests.sdk.sample_app``)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

import leaseq
from leaseq.core.model import JobState
from tests.sdk import sample_app
from tests.sdk.conftest import WorkerProcess

StartWorker = Callable[..., WorkerProcess]


def test_task_tags_and_call_tags_add_up_and_find_the_jobs(client: leaseq.Client) -> None:
    app = leaseq.App(client.url)
    with app:

        @app.task(queue="tagged", tags=["billing"])
        def invoice(customer: int) -> None: ...

        plain = invoice.enqueue(1)
        more = invoice.enqueue_with(tags=["tenant:7", "billing"])(2)
        assert plain.tags == ["billing"]
        assert more.tags == ["billing", "tenant:7"]
        assert [j.id for j in client.list_jobs(tags=["billing"]).jobs] == [more.id, plain.id]
        assert [j.id for j in client.list_jobs(tags=["billing", "tenant:7"]).jobs] == [more.id]
        assert [j.id for j in client.list_jobs(task="invoice", limit=1).jobs] == [more.id]
        page = client.list_jobs(task="invoice", tags=["billing"], limit=1)
        assert page.next_cursor is not None
        rest = client.list_jobs(task="invoice", tags=["billing"], cursor=page.next_cursor)
        assert [j.id for j in rest.jobs] == [plain.id]
        assert client.list_jobs(tags=["billing", "nope"]).jobs == []


def test_job_wait_returns_the_finished_job(
    client: leaseq.Client, start_worker: StartWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sample_app.app, "url", client.url)  # the producer's side, here
    start_worker("--concurrency", "2")
    try:
        job = sample_app.add.enqueue(20, 22)
        assert isinstance(job, leaseq.TaskJob) and job.state is JobState.QUEUED
        done = job.wait(timeout=30)
        assert (done.state, done.result) == (JobState.DONE, 42)
        failing = sample_app.give_up.enqueue_with(tags=["doomed"])("never")
        with pytest.raises(leaseq.JobFailed):
            failing.wait(30, raise_on_failure=True)
    finally:
        sample_app.app.close()


def test_wait_raises_on_dead_and_cancelled_only_when_asked(
    client: leaseq.Client, start_worker: StartWorker
) -> None:
    start_worker("--concurrency", "2")
    spec = sample_app.give_up.spec(sample_app.give_up.bind("no way"))
    (dead,) = client.enqueue_many([spec])
    assert client.wait(dead.id, 30).state is JobState.DEAD
    with pytest.raises(leaseq.JobFailed, match="DEAD") as failed:
        client.wait(dead.id, 30, raise_on_failure=True)
    assert failed.value.job.last_error_message == "no way"  # type: ignore[attr-defined]
    later = client.enqueue({"args": []}, task="noop", delay=3600)
    client.cancel(later.id)
    with pytest.raises(leaseq.JobFailed, match="CANCELLED"):
        client.wait(later.id, 5, raise_on_failure=True)


def test_a_wait_that_runs_out_raises_a_timeout(client: leaseq.Client) -> None:
    job = client.enqueue({"args": []}, task="noop", queue="nobody-polls")
    start = time.monotonic()
    with pytest.raises(TimeoutError) as timed_out:
        client.wait(job.id, 0.5)
    assert 0.5 <= time.monotonic() - start < 3
    assert isinstance(timed_out.value, leaseq.WaitTimedOut)
    assert timed_out.value.job.state is JobState.QUEUED  # type: ignore[attr-defined]


def test_a_long_wait_is_several_server_waits_of_30_s_at_most() -> None:
    """A wait longer than the server's limit asks again, each time for what is left (up
    to 30 s), until the job is finished; the server answered at once here."""
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params["wait"])
        state = "DONE" if len(asked) == 3 else "LEASED"
        return httpx.Response(200, json={"job": _job(state)})

    with leaseq.Client("http://leaseq.test", transport=httpx.MockTransport(answer)) as c:
        assert c.wait("j1", timeout=100).state is JobState.DONE
    assert asked == ["30.000", "30.000", "30.000"]


async def test_the_async_client_waits_too(client: leaseq.Client) -> None:
    job = client.enqueue({"args": []}, task="noop", queue="async-wait")
    async with leaseq.AsyncClient(client.url) as aio:
        (leased,) = await aio.poll("w", ["async-wait"])
        await aio.ack(leased.id, leased.lease_token or "", "fine")
        assert (await aio.wait(job.id, 5)).result == "fine"


def _job(state: str) -> dict[str, object]:
    at = "2030-01-01T00:00:00.000Z"
    return {
        "id": "j1", "queue": "q", "task": None, "payload": 1, "state": state, "priority": 0,
        "attempts": 1, "max_tries": 5, "run_at": at, "lease_owner": None,
        "lease_expires_at": None, "last_error": None, "result": None,
        "idempotency_key": None, "created_at": at, "updated_at": at,
    }  # fmt: skip
