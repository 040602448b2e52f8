"""Long polls against a real ``leaseq serve``: what only the process shows.

The wake-ups and the hang-up behaviour are tested in-process (``tests/app``); here,
uvicorn's part: SIGTERM answering long polls, and a closed socket reaching the app as
the disconnect that releases what the poll leased.
"""

from __future__ import annotations

import signal
import threading
import time

import httpx

from tests.support.server import ServerProcess


def _poll_in_thread(url: str, body: dict[str, object], out: dict[str, object]) -> threading.Thread:
    def run() -> None:
        with httpx.Client(base_url=url, timeout=40) as http:
            r = http.post("/poll", json=body)
            out["jobs"] = r.json()["jobs"]
            out["at"] = time.monotonic()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_sigterm_answers_long_polls_empty_and_exits_cleanly(server: ServerProcess) -> None:
    out: dict[str, object] = {}
    thread = _poll_in_thread(server.url, {"worker_id": "w", "wait": 30}, out)
    time.sleep(0.3)
    start = time.monotonic()
    # uvicorn re-raises SIGTERM after its graceful shutdown, the Unix convention for
    # "ended by this signal"; the log shows the lifespan (store close) completed.
    assert server.terminate() in (0, -signal.SIGTERM)
    thread.join(5)
    assert out["jobs"] == []
    assert time.monotonic() - start < 5
    assert "Application shutdown complete" in server.log()


def test_a_poller_that_hangs_up_does_not_keep_a_lease(
    server: ServerProcess, http: httpx.Client
) -> None:
    """The client gives up after 0.3 s; a job enqueued later must not be leased to it."""
    with httpx.Client(base_url=server.url, timeout=0.3) as impatient:
        try:
            impatient.post("/poll", json={"worker_id": "gone", "queues": ["hang"], "wait": 10})
        except httpx.ReadTimeout:
            pass
    time.sleep(0.2)
    http.post("/enqueue", json={"payload": 1, "queue": "hang"})
    (job,) = http.post("/poll", json={"worker_id": "here", "queues": ["hang"], "wait": 2}).json()[
        "jobs"
    ]
    assert job["lease_owner"] == "here" and job["attempts"] == 1
