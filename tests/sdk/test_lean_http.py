"""The blocking client's own HTTP/1.1 (``client.lean``) against a real ``leaseq serve``
and against a scripted socket server for the framings the server does not use."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

import leaseq
from leaseq.client.lean import LeanHttp
from leaseq.errors import JobNotFound, ServerUnavailable


def _serve(answers: list[bytes]) -> tuple[str, threading.Thread]:
    """A one-connection server: reads a request head, writes the next scripted answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def run() -> None:
        conn, _ = listener.accept()
        with conn, listener:
            for answer in answers:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                conn.sendall(answer)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{port}", thread


def _options(path: str = "/health") -> dict[str, object]:
    return {"method": "GET", "url": path, "content": None, "params": None, "headers": None,
            "timeout": 5.0}  # fmt: skip


def test_content_length_chunked_and_close_framings() -> None:
    url, thread = _serve([
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        b"HTTP/1.1 503 Busy\r\nConnection: close\r\n\r\nbye",
    ])  # fmt: skip
    http = LeanHttp(url, {})
    assert http.request(_options()) == (200, b"hello")
    assert http.request(_options()) == (201, b"abcde")
    assert http.request(_options()) == (503, b"bye")
    thread.join(5)
    http.close()


def test_a_refused_connection_is_unsent_and_a_dropped_one_sent() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(ServerUnavailable) as refused:
        LeanHttp(f"http://127.0.0.1:{port}", {}).request(_options())
    assert refused.value.request_sent is False  # type: ignore[attr-defined]
    url, thread = _serve([b""])  # reads the request, then closes without an answer
    with pytest.raises(ServerUnavailable) as dropped:
        LeanHttp(url, {}).request(_options())
    assert dropped.value.request_sent is True  # type: ignore[attr-defined]
    thread.join(5)


@pytest.fixture
def sync_client(server) -> Iterator[leaseq.Client]:  # type: ignore[no-untyped-def]
    with leaseq.Client(server.url) as c:
        yield c


def test_the_sync_client_speaks_lean_http_to_a_real_server(sync_client: leaseq.Client) -> None:
    assert sync_client._lean is not None  # a URL and no transport: the lean path
    job = sync_client.enqueue({"n": 1}, queue="lean")
    (leased,) = sync_client.poll("w", ["lean"])
    assert leased.id == job.id
    assert sync_client.ack(leased.id, leased.lease_token or "", {"ok": True}).result == {"ok": True}
    assert sync_client.get_job(job.id).state.value == "DONE"
    with pytest.raises(JobNotFound):
        sync_client.get_job("no-such-job")
    assert [j.id for j in sync_client.list_jobs(queue="lean").jobs] == [job.id]  # a query
