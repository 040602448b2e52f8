"""``leaseq jobs --tag/--task``, ``leaseq enqueue --tag`` and ``leaseq wait`` against a live
server, through Typer's runner in-process; one real process for the exit code."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

import leaseq
from leaseq.cli import app
from tests.support.server import ServerProcess


@pytest.fixture
def run(server: ServerProcess):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, [*args], env={"LEASEQ_URL": server.url, "COLUMNS": "200"})

    return invoke


def test_jobs_by_tag_and_task(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    made = run("enqueue", "1", "--task", "bill", "--tag", "tenant:7", "--tag", "urgent")
    assert made.exit_code == 0, made.output
    tagged = made.output.strip()
    client.enqueue(2, task="bill", tags=["tenant:7"])
    client.enqueue(3, task="mail", tags=["urgent"])
    found = run("jobs", "--tag", "tenant:7", "--tag", "urgent", "--json")
    assert [j["id"] for j in json.loads(found.output)] == [tagged]
    assert json.loads(found.output)[0]["tags"] == ["tenant:7", "urgent"]
    by_task = run("jobs", "--task", "bill", "--json")
    assert [j["task"] for j in json.loads(by_task.output)] == ["bill", "bill"]
    table = run("jobs", "--task", "bill", "--tag", "urgent")
    assert table.exit_code == 0 and "jobs: 1" in table.output, table.output
    assert "jobs: 0" in run("jobs", "--tag", "nothing").output


def test_wait_exit_codes_say_the_final_state(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    done = client.enqueue(1, queue="cli-wait")
    dead = client.enqueue(2, queue="cli-wait", max_tries=1)
    cancelled = client.enqueue(3, queue="cli-wait", delay=3600)
    waiting = client.enqueue(4, queue="nobody")
    first, second = client.poll("w", ["cli-wait"], max_jobs=2)
    client.ack(first.id, first.lease_token or "", "ok")
    client.fail(second.id, second.lease_token or "", "no", retry=False)
    client.cancel(cancelled.id)
    assert (r := run("wait", done.id)).exit_code == 0 and "DONE" in r.output
    assert (r := run("wait", dead.id)).exit_code == 6 and "DEAD" in r.output
    assert (r := run("wait", cancelled.id)).exit_code == 7 and "CANCELLED" in r.output
    start = time.monotonic()
    assert (r := run("wait", waiting.id, "--timeout", "0.5")).exit_code == 8
    assert "QUEUED" in r.output and time.monotonic() - start < 5
    assert run("wait", "no-such-job").exit_code == 3
    assert json.loads(run("wait", done.id, "--json").output)["result"] == "ok"


def test_wait_in_a_real_process_answers_when_the_job_finishes(
    server: ServerProcess, client: leaseq.Client
) -> None:
    job = client.enqueue(1, queue="proc-wait")

    def finish() -> None:
        time.sleep(1.0)
        (leased,) = client.poll("w", ["proc-wait"])
        client.fail(leased.id, leased.lease_token or "", "gave up", retry=False)

    threading.Thread(target=finish).start()
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "leaseq", "wait", job.id, "--url", server.url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert proc.stdout.strip() == f"{job.id} DEAD"
    assert time.monotonic() - start < 10
