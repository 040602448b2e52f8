"""Schedules with real processes: ``leaseq worker`` puts its app's schedules and runs
their slots' jobs, a second worker neither duplicates nor unpauses them, and the
``leaseq schedules`` / ``leaseq schedule ...`` commands against a live server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import leaseq
from leaseq.cli import app as cli
from tests.sdk.conftest import ROOT, wait_until
from tests.support.server import ServerProcess


@pytest.fixture
def start_schedule_worker(
    server: ServerProcess, tmp_path: Path
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """``leaseq worker tests.sdk.schedule_app:app`` (the fixture of conftest runs only
    ``sample_app``)."""
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        env = {**os.environ, "LEASEQ_URL": server.url, "PYTHONUNBUFFERED": "1",
               "LEASEQ_TEST_TICKS": str(tmp_path / "ticks.txt")}  # fmt: skip
        cmd = [sys.executable, "-m", "leaseq", "worker", "tests.sdk.schedule_app:app", "-v",
               "--queues", "ticks", "--poll-wait", "1"]  # fmt: skip
        with (tmp_path / f"worker{len(procs)}.log").open("ab") as log:
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log,
                                          stderr=subprocess.STDOUT))  # fmt: skip
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _done_ticks(client: leaseq.Client) -> list[leaseq.Job]:
    return [j for j in client.list_jobs(queue="ticks", limit=1000).jobs if j.state == "DONE"]


def test_a_worker_puts_its_schedule_and_a_second_one_keeps_it_paused(
    client: leaseq.Client, start_schedule_worker: Callable[[], subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:  # fmt: skip
    first = start_schedule_worker()
    wait_until(lambda: len(_done_ticks(client)) >= 2, timeout=30)
    (schedule,) = client.schedules()
    assert (schedule.name, schedule.every, schedule.job.task) == ("tick", 1, "tick")
    keys = {j.idempotency_key for j in _done_ticks(client)}
    assert all(k is not None and k.startswith("schedule:tick:") for k in keys)
    assert len((tmp_path / "ticks.txt").read_text().splitlines()) >= 2

    paused = client.pause_schedule("tick")
    assert paused.paused
    second = start_schedule_worker()
    log = tmp_path / "worker1.log"
    wait_until(lambda: log.exists() and "schedule tick put (paused)" in log.read_text())
    (after,) = client.schedules()
    assert after.paused and after.created_at == schedule.created_at
    # Paused: no new slot jobs, whichever worker would have run them.
    count = len(client.list_jobs(queue="ticks", limit=1000).jobs)
    time.sleep(2.5)  # two and a half slots of an ``every: 1`` schedule
    assert len(client.list_jobs(queue="ticks", limit=1000).jobs) == count
    for proc in (first, second):
        proc.terminate()
        assert proc.wait(20) == 0


# -- the CLI -----------------------------------------------------------------------------


@pytest.fixture
def run(server: ServerProcess):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, [*args], input=input,
                             env={"LEASEQ_URL": server.url, "COLUMNS": "200"})  # fmt: skip

    return invoke


def test_set_list_pause_resume_trigger_delete(run, client: leaseq.Client) -> None:  # type: ignore[no-untyped-def]
    made = run("schedule", "set", "nightly", "--cron", "30 2 * * *", "--timezone",
               "Europe/Berlin", "--queue", "reports", "--task", "build", "--payload",
               '{"kind": "daily"}', "--overlap", "skip")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "nightly" in made.stdout and "Europe/Berlin" in made.stdout
    s = client.schedule("nightly")
    assert (s.cron, s.overlap, s.job.queue, s.job.task, s.job.payload) == (
        "30 2 * * *", "skip", "reports", "build", {"kind": "daily"},
    )  # fmt: skip
    assert run("schedule", "set", "tick", "--every", "60", "--paused").exit_code == 0
    table = run("schedules")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert any("nightly" in ln and "30 2 * * *" in ln for ln in lines)
    assert any("tick" in ln and "every 60s" in ln and "paused" in ln for ln in lines)
    listed = json.loads(run("schedules", "--json").stdout)
    assert [x["name"] for x in listed] == ["nightly", "tick"]

    assert run("schedule", "pause", "nightly").exit_code == 0 and client.schedule("nightly").paused
    assert run("schedule", "set", "nightly", "--cron", "0 3 * * *").exit_code == 0
    assert client.schedule("nightly").paused  # set without --paused keeps it
    assert run("schedule", "resume", "nightly").exit_code == 0
    assert not client.schedule("nightly").paused
    fired = run("schedule", "trigger", "nightly")
    assert fired.exit_code == 0, fired.output
    assert client.get_job(fired.stdout.strip()).queue == "default"
    (trigger,) = client.schedule_runs("nightly")
    assert (trigger.outcome, trigger.slot_at, trigger.job_id) == (
        "manual",
        None,
        fired.stdout.strip(),
    )
    history = run("schedule", "runs", "nightly", "--limit", "5")
    assert history.exit_code == 0 and "(trigger)" in history.stdout and "manual" in history.stdout
    gone = run("schedule", "delete", "nightly")
    assert gone.exit_code == 0 and "deleted nightly" in gone.stdout
    assert [x.name for x in client.schedules()] == ["tick"]


def test_errors_are_one_line_and_an_exit_code(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = run("schedule", "set", "n", "--cron", "61 * * * *")
    assert bad.exit_code == 1 and "cron: '61 * * * *' is not a cron expression" in bad.stderr
    zone = run("schedule", "set", "n", "--cron", "@daily", "--timezone", "Mars/Base")
    assert zone.exit_code == 1 and "timezone" in zone.stderr
    assert run("schedule", "set", "n").exit_code == 2  # neither --cron nor --every
    assert run("schedule", "set", "n", "--every", "1", "--payload", "{nope").exit_code == 2
    missing = run("schedule", "trigger", "never-made")
    assert missing.exit_code == 3 and "never-made" in missing.stderr
    payload = tmp_path / "p.json"
    payload.write_text('{"from": "file"}')
    assert run("schedule", "set", "f", "--every", "5", "--file", str(payload)).exit_code == 0
    assert json.loads(run("schedules", "--json").stdout)[0]["job"]["payload"] == {"from": "file"}
