"""Many jobs, some big, all get in through the SDK and the CLI's batching, with no 413
from the server's default ``--max-body`` (issue 14, defect 6)."""

from __future__ import annotations

import httpx

import leaseq
from leaseq.cli.ops import _enqueue_batches
from leaseq.client import JobSpec
from leaseq.client.batching import DEFAULT_BATCH_BYTES
from leaseq.client.tasks import App
from tests.support.inproc import BASE_URL, InProcessServer


class Counting(httpx.BaseTransport):
    """The in-process transport, keeping each POST's body size and answer status."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[int, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST":
            self.sent.append((len(request.read()), response.status_code))
        return response


def counting_client(server: InProcessServer) -> tuple[leaseq.Client, Counting]:
    transport = Counting(server.transport())
    return leaseq.Client(BASE_URL, transport=transport), transport


def test_task_enqueue_many_splits_by_bytes(app_server: InProcessServer) -> None:
    client, transport = counting_client(app_server)
    app = App(BASE_URL)
    app._client = client

    @app.task(queue="bulk")
    def work(blob: str) -> None: ...

    small = [{"blob": "s" * 1000} for _ in range(3000)]
    big = [{"blob": "b" * 300_000} for _ in range(20)]
    jobs = work.enqueue_many(small + big)
    assert len(jobs) == 3020 and len({j.id for j in jobs}) == 3020
    assert all(status == 201 for _, status in transport.sent), transport.sent
    assert max(size for size, _ in transport.sent) <= DEFAULT_BATCH_BYTES
    assert client.stats()["bulk"].QUEUED == 3020
    app.close()


def test_the_cli_file_batches_split_by_bytes(app_server: InProcessServer) -> None:
    client, transport = counting_client(app_server)
    specs = [JobSpec(payload="x" * 300_000, queue="cli") for _ in range(20)]
    specs += [JobSpec(payload="y" * 1000, queue="cli") for _ in range(3000)]
    with client:
        _enqueue_batches(client, specs, DEFAULT_BATCH_BYTES)
        assert client.stats()["cli"].QUEUED == 3020
    assert all(status == 201 for _, status in transport.sent), transport.sent
