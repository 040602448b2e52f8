"""The operator commands as a new user meets them (issue 13): readable at 80 columns,
honest about what they did not do, and help that shows flags as flags."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

import leaseq
from leaseq.cli import app
from leaseq.core.model import JobState
from tests.support.server import ServerProcess


@pytest.fixture
def run(server: ServerProcess):  # type: ignore[no-untyped-def]
    def invoke(*args: str, columns: int = 80):  # type: ignore[no-untyped-def]
        env = {"LEASEQ_URL": server.url, "COLUMNS": str(columns)}
        return CliRunner().invoke(app, [*args], env=env)

    return invoke


def _dead(client: leaseq.Client, queue: str, error: str = "boom") -> leaseq.Job:
    client.enqueue("x", queue=queue, task="send_email")
    (job,) = client.poll("w", [queue])
    return client.fail(job.id, job.lease_token or "", error, retry=False)


def test_jobs_reads_at_80_columns(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    queued = client.enqueue(1, queue="emails", task="send_email")
    _dead(client, "emails", "Traceback ...\nsmtplib.SMTPServerDisconnected: " + "x" * 200)
    result = run("jobs", "--queue", "emails")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    assert "…" not in " ".join(lines[:3])  # the header is whole
    for whole in ("emails", "send_email", "QUEUED", "DEAD", "smtplib.SMTP"[:10]):
        assert whole in result.stdout, whole
    assert queued.id[-8:] in result.stdout and queued.id not in result.stdout
    assert "--wide" in result.stdout  # says how to get whole ids
    assert queued.id in run("jobs", "--queue", "emails", "--wide").stdout
    assert queued.id in run("jobs", "--queue", "emails", columns=200).stdout


def test_jobs_shows_the_exception_a_worker_sent_apart(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    client.enqueue("x", queue="typed", task="t")
    (job,) = client.poll("w", ["typed"])
    traceback = "Traceback (most recent call last):\n  File ...\nfinal line of the text"
    client.fail(job.id, job.lease_token or "", traceback, retry=False,
                error_type="KeyError", error_message="'user_id'")  # fmt: skip
    out = run("jobs", "--queue", "typed", columns=200).stdout
    assert "KeyError: 'user_id'" in out and "final line" not in out, out


def test_dead_groups_by_exception(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    for error_type, message in [("KeyError", "'a'")] * 3 + [("OSError", "disk")]:
        client.enqueue("x", queue="grp")
        (job,) = client.poll("w", ["grp"])
        client.fail(job.id, job.lease_token or "", "Traceback ...", retry=False,
                    error_type=error_type, error_message=message)  # fmt: skip
    groups = client.dead_groups("grp", ids=2)
    assert [(g.count, g.error_type, len(g.job_ids)) for g in groups] == [
        (3, "KeyError", 2), (1, "OSError", 1),
    ]  # fmt: skip
    rows = [ln.split() for ln in run("dead-groups", "--queue", "grp").stdout.splitlines()]
    assert [r[:3] for r in rows if r and r[0].isdigit()] == [
        ["3", "KeyError:", "'a'"], ["1", "OSError:", "disk"],
    ]  # fmt: skip
    assert run("dead-groups", "--queue", "grp", "--json").stdout.count('"count"') == 2


def test_jobs_lists_the_delayed_and_the_attempted(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    later = client.enqueue(1, queue="views", delay=3600)
    now = client.enqueue(2, queue="views")

    def ids(*flags: str) -> list[str]:
        listed = json.loads(run("jobs", "--queue", "views", *flags, "--json").stdout)
        return [j["id"] for j in listed]

    assert ids("--state", "queued", "--delayed") == [later.id]
    assert ids("--state", "queued", "--not-delayed") == [now.id]
    assert ids("--attempted") == []
    table = run("jobs", "--queue", "views", "--delayed").stdout
    assert "jobs: 1" in table, table  # filtered: the total is what was found


def test_state_in_any_case_and_totals(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        _dead(client, "totals")
    lower = run("jobs", "--state", "dead", "--queue", "totals", "--limit", "2")
    assert lower.exit_code == 0, lower.output
    assert "jobs: 2 of 3" in lower.stdout
    assert "dead jobs: 2 of 3" in run("dead", "--queue", "totals", "--limit", "2").stdout
    assert "dead jobs: 3" in run("dead", "--queue", "totals").stdout


def test_requeue_names_what_it_did_not_requeue(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    dead = _dead(client, "rq")
    cancelled = client.cancel(_dead(client, "rq").id)
    result = run("requeue", dead.id, cancelled.id)
    assert result.exit_code == 1
    assert result.stdout.strip() == "requeued 1 of 2"
    assert f"{cancelled.id}: it is CANCELLED, not DEAD" in result.stderr
    assert client.get_job(dead.id).state is JobState.QUEUED
    unknown = run("requeue", "no-such-id")
    assert unknown.exit_code == 3 and "no-such-id: no such job" in unknown.stderr


def test_enqueue_says_the_right_thing(run) -> None:  # type: ignore[no-untyped-def]
    neither = run("enqueue")
    assert neither.exit_code == 2 and "not both" not in neither.output
    assert "PAYLOAD" in neither.output
    assert "not both" in run("enqueue", "1", "--file", "-").output
    zero = run("enqueue", "1", "--max-tries", "0")
    assert zero.exit_code == 1
    assert "--max-tries" in zero.stderr and "$.jobs[0]" not in zero.stderr, zero.stderr


def test_stats_oldest_ready_is_a_dash_when_nothing_is_ready(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    client.enqueue(1, queue="later", delay=300)
    assert client.stats()["later"].oldest_queued_age_s == 0.0  # what the server answers
    row = next(ln for ln in run("stats").stdout.splitlines() if ln.startswith("later"))
    assert row.split()[-1] == "-", row
    client.enqueue(1, queue="now")
    row = next(ln for ln in run("stats").stdout.splitlines() if ln.startswith("now"))
    assert re.fullmatch(r"\d+\.\ds", row.split()[-1]), row


def test_workers_lists_who_polled(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    client.enqueue(1, queue="wk")
    client.poll("worker-7", ["wk", "other"], concurrency=4)
    client.poll("worker-8", ["wk"])
    result = run("workers")
    assert result.exit_code == 0, result.output
    row = next(ln for ln in result.stdout.splitlines() if ln.startswith("worker-7"))
    assert row.split()[1:] == ["0s", "ago", "1", "4", "0", "0", "wk,other"], row
    row = next(ln for ln in result.stdout.splitlines() if ln.startswith("worker-8"))
    assert row.split()[1:] == ["0s", "ago", "0", "-", "0", "0", "wk"], row
    assert '"worker_id": "worker-7"' in run("workers", "--json").stdout


@pytest.mark.parametrize("command", ["worker", "enqueue", "jobs", "workers", "serve", ""])
def test_help_shows_flags_as_flags(command: str) -> None:
    args = [command, "--help"] if command else ["--help"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "<int>    [default: 0]" not in result.output  # the undocumented -v
    if command == "worker":
        assert "-vv" in result.output  # -v is documented
