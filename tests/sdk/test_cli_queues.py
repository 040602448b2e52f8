"""``leaseq queues``, ``pause``, ``resume``, ``limit`` and ``enqueue --concurrency-key``
against a live server, through Typer's runner in-process."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

import leaseq
from leaseq.cli import app
from leaseq.client import RateLimit
from tests.conftest import FAST
from tests.support.server import ServerProcess

Run = Callable[..., Result]


@pytest.fixture
def run(server: ServerProcess) -> Run:
    runner = CliRunner()

    def invoke(*args: str, **env: str) -> Result:
        return runner.invoke(app, [*args], env={"LEASEQ_URL": server.url, "COLUMNS": "200", **env})

    return invoke


def test_pause_and_resume(run: Run, client: leaseq.Client) -> None:
    client.enqueue("x", queue="mail")
    paused = run("pause", "mail")
    assert paused.exit_code == 0, paused.output
    assert paused.stdout.strip() == "mail: paused; no limits"
    assert client.queue("mail").paused and client.poll("w", ["mail"]) == []
    resumed = run("resume", "mail", "--json")
    assert resumed.exit_code == 0 and json.loads(resumed.stdout)["paused"] is False
    assert len(client.poll("w", ["mail"])) == 1


def test_limit_sets_what_it_names_and_keeps_the_rest(run: Run, client: leaseq.Client) -> None:
    r = run("limit", "mail", "--concurrency", "5", "--rate", "10/1s", "--key-concurrency", "1")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "mail: running; concurrency 5, rate 10/1s, 1 per key"
    q = client.queue("mail")
    assert (q.concurrency, q.rate_limit, q.key_concurrency) == (5, RateLimit(10, 1.0), 1)
    r = run("limit", "mail", "--rate", "5/500ms")
    assert r.stdout.strip() == "mail: running; concurrency 5, rate 5/500ms, 1 per key"
    r = run("limit", "mail", "--concurrency", "none", "--rate", "100/1m")
    assert r.stdout.strip() == "mail: running; rate 100/1m, 1 per key", r.output
    run("pause", "mail")
    r = run("limit", "mail", "--clear")
    assert r.exit_code == 0 and r.stdout.strip() == "mail: paused; no limits", r.output
    q = client.queue("mail")
    assert (q.paused, q.concurrency, q.rate_limit, q.key_concurrency) == (True, None, None, None)


def test_the_queues_table(run: Run, client: leaseq.Client) -> None:
    client.enqueue_many([leaseq.JobSpec(payload=i, queue="reports") for i in range(3)])
    client.update_queue("reports", concurrency=2, rate_limit=RateLimit(100, 60.0))
    client.pause("idle")
    table = run("queues")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    header = next(line for line in lines if "concurrency" in line)
    assert all(word in header for word in ("paused", "rate", "per key", "QUEUED", "CANCELLED"))
    (reports,) = [line for line in lines if "reports" in line]
    assert "100/1m" in reports and " 2 " in reports and " 3 " in reports
    (idle,) = [line for line in lines if "idle" in line]
    assert "paused" in idle
    listed = json.loads(run("queues", "--json").stdout)
    assert [q["name"] for q in listed] == ["idle", "reports"]
    assert listed[1]["rate_limit"] == {"count": 100, "per_s": 60.0}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--rate", "10"], "COUNT/WINDOW"),
        (["--rate", "10/2"], "needs a unit"),
        (["--rate", "10/1w"], "unknown unit 'w'"),
        (["--rate", "0/1s"], "count must be from 1"),
        (["--rate", "5/0ms"], "window must be from 1ms"),
        (["--concurrency", "0"], "--concurrency must be a whole number"),
        (["--concurrency", "-3"], "--concurrency must be a whole number"),
        (["--concurrency", "lots"], "--concurrency must be a whole number"),
        (["--concurrency", "10000000"], "--concurrency must be a whole number"),
        (["--key-concurrency", "1.5"], "--key-concurrency must be a whole number"),
        ([], "give --concurrency, --rate, --key-concurrency or --clear"),
        (["--clear", "--concurrency", "3"], "--clear removes every limit"),
    ],
)
def test_bad_limits_are_usage_errors_that_change_nothing(
    run: Run, client: leaseq.Client, args: list[str], says: str
) -> None:
    client.update_queue("mail", concurrency=4)
    before = client.queue("mail")
    r = run("limit", "mail", *args)
    assert r.exit_code == 2, r.output
    assert says in " ".join(r.output.split()), r.output  # rich wraps the usage box
    assert client.queue("mail") == before


def test_refusals_by_the_server(run: Run) -> None:
    r = run("pause", "not a name")
    assert r.exit_code == 1 and "name" in r.stderr, r.output
    assert run("pause").exit_code == 2  # no queue named


def test_writes_need_an_admin_token(server_factory: Callable[..., ServerProcess]) -> None:
    secured = server_factory(*FAST, "--token", "read:r-secret", "--token", "the-admin")
    runner = CliRunner()

    def as_(token: str, *args: str) -> Result:
        env: dict[str, Any] = {"LEASEQ_URL": secured.url, "LEASEQ_TOKEN": token, "COLUMNS": "200"}
        return runner.invoke(app, [*args], env=env)

    refused = as_("r-secret", "pause", "mail")
    assert refused.exit_code == 1 and "read token may not" in refused.stderr, refused.output
    assert as_("r-secret", "queues").exit_code == 0
    assert as_("the-admin", "pause", "mail").exit_code == 0
    assert "paused" in as_("r-secret", "queues").stdout


def test_enqueue_with_a_concurrency_key(run: Run, client: leaseq.Client) -> None:
    r = run("enqueue", '{"n": 1}', "--queue", "keyed", "--concurrency-key", "acct-7", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["concurrency_key"] == "acct-7"
    assert client.get_job(json.loads(r.stdout)["id"]).concurrency_key == "acct-7"
