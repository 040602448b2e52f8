"""The SDK's schedule methods and declared schedules, in-process through ``transport=``."""

from __future__ import annotations

import pytest

import leaseq
from leaseq.client import JobSpec, Schedule
from leaseq.client.tasks import App
from leaseq.errors import InvalidRequest, ScheduleNotFound
from tests.support.inproc import BASE_URL, InProcessServer

JOB = JobSpec(payload={"args": [], "kwargs": {}}, queue="cron", task="report")


def test_every_schedule_method(client: leaseq.Client) -> None:
    made = client.put_schedule("nightly", cron="0 3 * * *", timezone="Europe/Berlin", job=JOB)
    assert isinstance(made, Schedule)
    assert (made.cron, made.every, made.timezone, made.paused) == (
        "0 3 * * *", None, "Europe/Berlin", False,
    )  # fmt: skip
    assert made.next_run_at is not None and made.next_run_at.tzinfo is not None
    assert (made.job.queue, made.job.task, made.last_job_id) == ("cron", "report", None)
    client.put_schedule("tick", every=30, job=JOB, overlap="skip")
    assert [s.name for s in client.schedules()] == ["nightly", "tick"]
    assert client.schedule("tick").every == 30 and client.schedule("tick").overlap == "skip"
    assert client.pause_schedule("tick").paused
    assert client.put_schedule("tick", every=30, job=JOB).paused  # paused=None keeps it
    assert not client.resume_schedule("tick").paused
    job = client.trigger_schedule("nightly")
    assert (job.queue, job.task, job.state) == ("cron", "report", "QUEUED")
    assert client.delete_schedule("nightly").name == "nightly"
    with pytest.raises(ScheduleNotFound):
        client.schedule("nightly")


def test_refusals_are_the_error_tree(client: leaseq.Client) -> None:
    with pytest.raises(InvalidRequest, match="cron"):
        client.put_schedule("bad", cron="61 * * * *", job=JOB)
    with pytest.raises(InvalidRequest, match="timezone"):
        client.put_schedule("bad", cron="@daily", timezone="Nowhere/Land", job=JOB)
    with pytest.raises(InvalidRequest, match="exactly one"):
        client.put_schedule("bad", job=JOB)  # caught before sending
    with pytest.raises(InvalidRequest, match="delay"):
        client.put_schedule("bad", every=5, job=JobSpec(payload=1, delay=3))
    assert client.schedules() == []


def test_idempotency_scope_is_an_enqueue_option(client: leaseq.Client) -> None:
    first = client.enqueue("x", queue="u", idempotency_key="k", idempotency_scope="active")
    assert first.idempotency_scope == "active"
    second = client.enqueue("x", queue="u", idempotency_key="k", idempotency_scope="active")
    assert second.id == first.id
    (leased,) = client.poll("w", ["u"])
    client.ack(leased.id, leased.lease_token or "")
    again = client.enqueue("x", queue="u", idempotency_key="k", idempotency_scope="active")
    assert again.id != first.id


def test_declared_schedules_are_put_and_keep_a_pause(app_server: InProcessServer) -> None:
    app = App(BASE_URL)
    app._client = leaseq.Client(BASE_URL, transport=app_server.transport())

    @app.task(cron="0 3 * * *", timezone="Europe/Berlin", queue="nightly", max_tries=2)
    def cleanup() -> None: ...

    @app.task(every=60)
    def ping(host: str) -> None: ...

    app.schedule("ping-db", ping, every=10, args=("db",), overlap="skip", priority=5)
    assert sorted(app.schedules) == ["cleanup", "ping", "ping-db"]
    put = {s.name: s for s in app.put_schedules()}
    assert put["cleanup"].job.task == "cleanup" and put["cleanup"].job.max_tries == 2
    assert put["cleanup"].job.payload == {"args": [], "kwargs": {}}
    assert put["ping-db"].job.payload == {"args": ["db"], "kwargs": {}}
    assert (put["ping-db"].job.priority, put["ping-db"].overlap) == (5, "skip")
    app.client.pause_schedule("cleanup")
    assert {s.name: s.paused for s in app.put_schedules()}["cleanup"] is True
    assert len(app.client.schedules()) == 3
    app.close()


def test_a_bad_declaration_fails_where_it_is_written() -> None:
    app = App()

    @app.task()
    def job() -> None: ...

    with pytest.raises(InvalidRequest, match="cron"):
        app.schedule("x", job, cron="not cron")
    with pytest.raises(InvalidRequest, match="timezone"):
        app.schedule("x", job, cron="@daily", timezone="Atlantis")
    with pytest.raises(InvalidRequest, match="every"):
        app.schedule("x", job, every=0.1)
    with pytest.raises(ValueError, match="delay"):
        app.schedule("x", job, every=5, delay=1)
    with pytest.raises(ValueError, match="schedule name"):
        app.schedule("has space", job, every=5)
    app.schedule("x", job, every=5)
    with pytest.raises(ValueError, match="already"):
        app.schedule("x", job, every=5)
