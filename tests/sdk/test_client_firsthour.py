"""The SDK with the server down (issue 13): a producer finds out within about 3 s."""

from __future__ import annotations

import time

import pytest

import leaseq
from tests.support.server import free_port


def test_enqueue_to_a_dead_port_raises_within_3_5_s_by_default() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with leaseq.Client(url) as client, pytest.raises(leaseq.ServerUnavailable):
        client.enqueue({"n": 1})
    took = time.monotonic() - started
    assert 0.5 < took < 3.5, took  # retried for a while, then gave up in time


def test_an_app_can_ask_to_wait_longer() -> None:
    app = leaseq.App(f"http://127.0.0.1:{free_port()}", retry=leaseq.RetryPolicy(max_seconds=30))
    assert app.client.retry.max_seconds == 30
    app.close()
