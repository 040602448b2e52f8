"""The benchmark harness at tiny N, so it does not rot between real runs.

Only leaseq's own scenarios run here (the peers' workers take seconds to boot each), and
not the optional ``--flat-cost`` one (three worker starts); the peers' adapters are only
imported, and skipped when their packages are not installed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path

import pytest
from benchmarks import __main__ as bench
from benchmarks import starts
from benchmarks.peers import PEERS, load

pytestmark = pytest.mark.slow  # runs every scenario at a tiny N: tens of seconds


def test_leaseq_scenarios_at_tiny_n(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    md, png = tmp_path / "b.md", tmp_path / "b.png"
    systems = "leaseq,leaseq-unbatched,leaseq-fused,leaseq-raw-batched,beanstalkd,leaseq-pg"
    bench.main([
        "--quick", "--systems", systems, "--memory-rounds", "2",
        "--markdown", str(md), "--chart", str(png), "--work", str(tmp_path / "work"),
    ])  # fmt: skip
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    got = {(r["system"], r["metric"]): r for r in lines if "metric" in r}
    failed = [r for r in lines if str(r.get("skipped", "")).startswith("failed")]
    assert not failed, failed
    for system in ("leaseq", "leaseq-unbatched", "leaseq-fused", "leaseq-raw-batched"):
        for metric in ("enqueue_one_jobs_per_s", "drain_jobs_per_s", "latency_p99_ms",
                       "server_switches_per_request", "server_cpu_us_per_job"):  # fmt: skip
            assert got[system, metric]["median"] > 0, (system, metric)
    # One request per job for the fused worker, two for poll-then-ack (plus a few /metrics).
    assert got["leaseq-fused", "requests_per_job"]["median"] < 1.2
    assert got["leaseq-unbatched", "requests_per_job"]["median"] >= 2
    assert got["leaseq", "enqueue_bulk_jobs_per_s"]["median"] > 0
    assert got["leaseq", "worker_rss_last_round_mb"]["median"] > 0
    assert got["leaseq", "server_rss_peak_mb"]["median"] > 0
    # Until the PostgreSQL backend is merged, leaseq-pg says why it was skipped.
    assert ("leaseq-pg", "drain_jobs_per_s") in got or any(
        r["system"] == "leaseq-pg" and "skipped" in r for r in lines
    )
    page = md.read_text()
    assert "| leaseq |" in page and "## Targets" in page and "fastest peer" in page
    if importlib.util.find_spec("matplotlib") is not None:
        assert png.stat().st_size > 0


@pytest.mark.parametrize("name", PEERS)
def test_peer_adapter_imports(name: str) -> None:
    try:
        peer = load(name)
    except ImportError as exc:
        pytest.skip(f"{name} is not installed: {exc}")
    assert peer.durable and peer.worker_config


def test_start_times_keep_the_first_run_of_each_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(starts.ENV, str(tmp_path))
    for i in (1, 2, 1):
        starts.record(i)
    partial = tmp_path / "starts-1.log"
    partial.write_text("3 5.0\n7")  # a line still being written
    collector = starts.Collector(tmp_path)
    got = collector.poll()
    assert set(got) == {1, 2, 3} and got[1] <= got[2]
    with partial.open("a") as f:
        f.write(" 6.0\n3 4.0\n")
    assert collector.poll()[7] == 6.0 and got[3] == 4.0


def test_cpu_per_job_measures_every_step(tmp_path: Path) -> None:
    from benchmarks import cpu_per_job

    server = cpu_per_job.Server(f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "serve.log")
    try:
        got = asyncio.run(cpu_per_job.measure(server.url, server.child.pid, 120, 50))
    finally:
        server.child.stop()
    assert got["jobs"] == 120
    # The server's clock ticks in 10 ms: over 120 jobs only the client's time is sure to
    # be non-zero; the server's must at least be read without error.
    assert got["client_poll_us"] > 0 and got["client_ack_us"] > 0
    assert all(got[k] >= 0 for k in got)
