from __future__ import annotations

import asyncio

from leaseq.server.notifier import Notifier


async def test_notify_wakes_only_subscribers_of_that_queue() -> None:
    n = Notifier()
    a, b = n.subscribe(["a"]), n.subscribe(["b", "c"])
    n.notify(["c"])
    await asyncio.sleep(0)
    assert b.done() and not a.done()
    a.cancel()


async def test_cancelled_waiters_are_forgotten() -> None:
    n = Notifier()
    w = n.subscribe(["a"])
    w.cancel()
    await asyncio.sleep(0)
    assert n._waiters == {}


async def test_close_wakes_everyone_and_later_subscribers_at_once() -> None:
    n = Notifier()
    w = n.subscribe(["a"])
    n.close()
    assert w.done() and n.subscribe(["x"]).done()
