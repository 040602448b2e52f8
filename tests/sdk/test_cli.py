"""The operator commands against a live server, through Typer's runner in-process, plus
one real process to check that exit codes survive ``python -m leaseq``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import leaseq
from leaseq.cli import app
from leaseq.cli import ops as cli_ops
from leaseq.core.model import JobState
from tests.support.server import ServerProcess, free_port


@pytest.fixture
def run(server: ServerProcess):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(
            app, [*args], input=input, env={"LEASEQ_URL": server.url, "COLUMNS": "200"}
        )

    return invoke


def _dead_job(client: leaseq.Client, queue: str = "ops") -> leaseq.Job:
    client.enqueue("x", queue=queue)
    (job,) = client.poll("w", [queue])
    return client.fail(job.id, job.lease_token or "", "broken", retry=False)


def test_enqueue_one(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    result = run("enqueue", '{"to": "a@b.c"}', "--queue", "emails", "--task", "send",
                 "--priority", "2", "--delay", "30", "--max-tries", "3")  # fmt: skip
    assert result.exit_code == 0, result.output
    job = client.get_job(result.stdout.strip())
    assert (job.payload, job.queue, job.task, job.priority, job.max_tries) == (
        {"to": "a@b.c"}, "emails", "send", 2, 3,
    )  # fmt: skip
    again = run("enqueue", "1", "--idempotency-key", "k", "--json")
    assert json.loads(again.stdout)["idempotency_key"] == "k"


def test_enqueue_many_from_stdin_in_batches(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    lines = "\n".join(json.dumps({"n": i}) for i in range(2500)) + "\n\n"
    result = run("enqueue", "--file", "-", "--queue", "bulk", input=lines)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.split()) == 2500 and "enqueued 2500 jobs" in result.stderr
    assert client.stats()["bulk"].QUEUED == 2500


def test_enqueue_specs_file(run, client: leaseq.Client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "jobs.jsonl"
    path.write_text('{"payload": 1, "idempotency_key": "a"}\n{"payload": 2, "priority": 9}\n')
    result = run("enqueue", "--file", str(path), "--specs", "--queue", "spec")
    assert result.exit_code == 0, result.output
    jobs = client.list_jobs(queue="spec").jobs
    assert sorted(j.priority for j in jobs) == [0, 9]


def test_enqueue_errors(run) -> None:  # type: ignore[no-untyped-def]
    assert run("enqueue", "{not json").exit_code == 2
    assert run("enqueue").exit_code == 2  # neither payload nor --file
    bad_line = run("enqueue", "--file", "-", "--specs", input='{"payload": 1, "nope": 2}\n')
    assert bad_line.exit_code == 2 and "line 1" in bad_line.output
    refused = run("enqueue", "1", "--queue", "bad queue")
    assert refused.exit_code == 1 and "queue" in refused.stderr


def test_jobs_job_and_filters(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    queued = client.enqueue({"k": "v"}, queue="ls", task="t")
    dead = _dead_job(client, "ls")
    table = run("jobs", "--queue", "ls")
    assert table.exit_code == 0 and queued.id in table.stdout and "DEAD" in table.stdout
    as_json = json.loads(run("jobs", "--state", "DEAD", "--json").stdout)
    assert [j["id"] for j in as_json] == [dead.id]
    assert len(json.loads(run("jobs", "--limit", "1", "--json").stdout)) == 1
    shown = run("job", queued.id)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["payload"] == {"k": "v"}
    missing = run("job", "nope")
    assert missing.exit_code == 3 and "no job" in missing.stderr
    assert run("jobs", "--state", "WRONG").exit_code == 2


def test_events_follows_pages(run, client: leaseq.Client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cli_ops, "PAGE", 3)  # four events: two pages
    dead = _dead_job(client, "hist")
    client.requeue_dead([dead.id])
    table = run("events", dead.id)
    assert table.exit_code == 0 and "broken" in table.stdout and "requeued" in table.stdout
    kinds = [e["kind"] for e in json.loads(run("events", dead.id, "--json").stdout)]
    assert kinds == ["enqueued", "leased", "dead", "requeued"]
    assert len(json.loads(run("events", dead.id, "--limit", "3", "--json").stdout)) == 3
    assert run("events", "nope").exit_code == 3


def test_dead_requeue_cancel(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    first, second = _dead_job(client), _dead_job(client)
    listing = run("dead", "--queue", "ops")
    assert listing.exit_code == 0 and first.id in listing.stdout and "broken" in listing.stdout
    assert run("requeue", first.id).stdout.strip() == "requeued 1 of 1"
    assert run("requeue", "--queue", "ops").stdout.strip() == "requeued 1"
    assert client.get_job(second.id).state is JobState.QUEUED
    assert run("requeue").exit_code == 2
    assert run("requeue", first.id, "--queue", "ops").exit_code == 2
    cancelled = run("cancel", first.id)
    assert cancelled.exit_code == 0 and "CANCELLED" in cancelled.stdout
    again = run("cancel", first.id)
    assert again.exit_code == 1 and "cannot be cancelled" in again.stderr
    assert run("cancel", "nope").exit_code == 3


def test_cancel_takes_running_jobs_and_answers_each_id(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    queued = client.enqueue(1, queue="cx")
    client.enqueue(2, queue="cy")
    (running,) = client.poll("w", ["cy"])
    timed = run("enqueue", "1", "--timeout", "90", "--json")
    assert timed.exit_code == 0 and json.loads(timed.stdout)["timeout"] == 90.0
    refused = run("enqueue", "1", "--timeout", "0")
    assert refused.exit_code == 1 and "--timeout" in refused.stderr
    result = run("cancel", queued.id, "nope", running.id)
    assert result.exit_code == 3  # one does not exist
    assert result.stdout.split() == [queued.id, "CANCELLED", running.id, "CANCELLED"]
    assert "not cancelled: nope: no job with id 'nope'" in result.stderr
    with pytest.raises(leaseq.JobCancelled):
        client.ack(running.id, running.lease_token or "")
    again = run("cancel", running.id)
    assert again.exit_code == 1 and "cannot be cancelled" in again.stderr


def test_stats(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    client.enqueue(1, queue="st")
    table = run("stats")
    assert table.exit_code == 0 and "st" in table.stdout and "QUEUED" in table.stdout
    assert json.loads(run("stats", "--json").stdout)["st"]["QUEUED"] == 1


def test_server_down_is_one_line_and_exit_4() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["stats"], ["enqueue", "1"], ["cancel", "x"]):
        result = CliRunner().invoke(app, [*args, "--url", url])
        assert result.exit_code == 4, args
        assert result.stderr.strip().startswith(f"error: cannot reach leaseq at {url}")
        assert len(result.stderr.strip().splitlines()) == 1


def test_exit_codes_of_the_real_command(server: ServerProcess) -> None:
    cmd = [sys.executable, "-m", "leaseq"]
    found = subprocess.run([*cmd, "job", "nope", "--url", server.url], capture_output=True)
    assert found.returncode == 3
    helped = subprocess.run([*cmd, "jobs", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "Exit codes" in helped.stdout
