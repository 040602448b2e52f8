"""Queue settings and the limits a claim obeys (issue 12), on every backend, on the fake
clock: one test per rule of ``Storage.claim`` and ``Storage.update_queue``."""

from __future__ import annotations

from leaseq.core.model import JobRecord, JobState
from leaseq.core.queues import HeldBack, QueueChange, QueueSettings, RateLimit
from tests.storage.conftest import Store
from tests.storage.test_conformance import ack, claim, enqueue, spec


async def limit(store: Store, queue: str = "default", **change: object) -> QueueSettings:
    return await store.storage.update_queue(queue, QueueChange(**change))  # type: ignore[arg-type]


def ids(jobs: list[JobRecord]) -> list[str]:
    return [j.id for j in jobs]


async def test_unknown_queues_have_the_defaults(store: Store) -> None:
    got = await store.storage.queue_settings(["nobody", "changed-this"])
    assert got == {"nobody": QueueSettings(), "changed-this": QueueSettings()}
    assert await store.storage.queue_settings(None) == {}
    assert await store.storage.queues() == []


async def test_update_is_partial_and_durable_across_a_reopen(store: Store) -> None:
    assert await limit(store, "q", paused=True) == QueueSettings(paused=True)
    rate = RateLimit(10, 1000)
    after = await limit(store, "q", concurrency=3, rate_limit=rate)
    assert after == QueueSettings(True, 3, rate, None)
    assert await limit(store, "q", key_concurrency=2, concurrency=None) == QueueSettings(
        True, None, rate, 2
    )
    await store.reopen()
    assert (await store.storage.queue_settings(["q"]))["q"] == QueueSettings(True, None, rate, 2)
    assert await limit(store, "q", paused=False, rate_limit=None) == QueueSettings(
        key_concurrency=2
    )


async def test_queues_lists_queues_with_jobs_or_settings_by_name(store: Store) -> None:
    await enqueue(store, spec(queue="b"), spec(queue="b"))
    await limit(store, "a", paused=True)
    (job,) = await claim(store, queues=("b",))
    listed = await store.storage.queues()
    assert [(q.name, q.settings.paused) for q in listed] == [("a", True), ("b", False)]
    assert listed[0].counts == dict.fromkeys(JobState, 0)
    assert (listed[1].counts[JobState.QUEUED], listed[1].counts[JobState.LEASED]) == (1, 1)
    assert job.queue == "b"


async def test_a_paused_queue_leases_nothing_and_its_neighbours_are_served(store: Store) -> None:
    held = await enqueue(store, spec("1", queue="p"), spec("2", queue="p"))
    (other,) = await enqueue(store, spec(queue="o"))
    await limit(store, "p", paused=True)
    got = await claim(store, 10, ("p", "o"))
    assert ids(got) == [other.id]
    assert got.held == {"p": HeldBack.PAUSED}
    assert await claim(store, 10, ("p",)) == []
    for job in held:
        stored = await store.storage.get(job.id)
        assert stored is not None and (stored.state, stored.attempts) == (JobState.QUEUED, 0)
    await limit(store, "p", paused=False)
    resumed = await claim(store, 10, ("p",))
    assert ids(resumed) == ids(held) and resumed.held == {}


async def test_never_more_than_concurrency_leased(store: Store) -> None:
    jobs = await enqueue(store, *[spec(str(i)) for i in range(5)])
    await limit(store, concurrency=2)
    first = await claim(store, 5)
    assert ids(first) == ids(jobs[:2]) and first.held == {"default": HeldBack.CONCURRENCY}
    assert await claim(store, 5) == []
    await ack(store, first[0])
    assert ids(await claim(store, 5)) == [jobs[2].id]
    await limit(store, concurrency=4)
    assert ids(await claim(store, 5)) == ids(jobs[3:])


async def test_held_back_jobs_keep_their_order_and_attempts(store: Store) -> None:
    low = await enqueue(store, spec("1"), spec("2"))
    (high,) = await enqueue(store, spec("3", priority=5))
    await limit(store, concurrency=1)
    (first,) = await claim(store, 3)
    assert first.id == high.id
    waiting = [await store.storage.get(j.id) for j in low]
    assert [(j.state, j.attempts) for j in waiting if j] == [(JobState.QUEUED, 0)] * 2
    await ack(store, first)
    (second,) = await claim(store, 3)
    assert (second.id, second.attempts) == (low[0].id, 1)


async def test_the_rate_window_slides(store: Store) -> None:
    """Two leases per second: exactly two in any window, and the next one only once the
    oldest lease has left the window (a token bucket would allow four across an edge)."""
    await enqueue(store, *[spec(str(i)) for i in range(10)])
    await limit(store, rate_limit=RateLimit(2, 1000))
    assert len(await claim(store, 1)) == 1  # t = 0
    store.advance(0.5)
    got = await claim(store, 5)  # t = 500: one more fills the window
    assert len(got) == 1 and got.held == {"default": HeldBack.RATE}
    assert await store.storage.next_ready_in(["default"]) == 0.5
    store.advance(0.499)
    assert await claim(store, 5) == []  # t = 999: both still within the last second
    store.advance(0.001)
    assert len(await claim(store, 5)) == 1  # t = 1000: the lease of t = 0 has left
    store.advance(0.499)
    assert await claim(store, 5) == []  # t = 1499
    store.advance(0.001)
    assert len(await claim(store, 5)) == 1  # t = 1500: the lease of t = 500 has left
    store.advance(5)
    assert len(await claim(store, 5)) == 2


async def test_a_key_caps_its_jobs_and_keyless_jobs_are_unlimited(store: Store) -> None:
    a1, a2, b1, free1, free2 = await enqueue(
        store,
        spec("1", concurrency_key="a"),
        spec("2", concurrency_key="a"),
        spec("3", concurrency_key="b"),
        spec("4"),
        spec("5"),
    )
    await limit(store, key_concurrency=1)
    got = await claim(store, 10)
    assert ids(got) == [a1.id, b1.id, free1.id, free2.id]
    assert got.held == {"default": HeldBack.KEY}
    assert await claim(store, 10) == []
    await ack(store, got[0])
    assert ids(await claim(store, 10)) == [a2.id]


async def test_limits_hold_together(store: Store) -> None:
    await enqueue(store, *[spec(str(i), concurrency_key=str(i % 2)) for i in range(8)])
    await limit(store, concurrency=3, key_concurrency=2, rate_limit=RateLimit(100, 1000))
    got = await claim(store, 8)
    assert len(got) == 3 and sorted(j.concurrency_key or "" for j in got) == ["0", "0", "1"]


async def test_a_claim_stops_at_its_byte_budget_but_takes_one(store: Store) -> None:
    body = '"' + "x" * 398 + '"'  # 400 bytes
    jobs = await enqueue(store, *[spec(body) for _ in range(4)])
    got = await store.storage.claim(["default"], "w", 10, 1000, 1000)
    assert ids(got) == ids(jobs[:2])
    (one,) = await store.storage.claim(["default"], "w", 10, 1000, 10)
    assert one.id == jobs[2].id
    await limit(store, concurrency=10)  # the limited claim keeps the budget too
    assert ids(await store.storage.claim(["default"], "w", 10, 1000, 10)) == [jobs[3].id]


async def test_a_multibyte_payload_counts_its_bytes(store: Store) -> None:
    body = '"' + "é" * 300 + '"'  # 302 characters, 602 bytes
    jobs = await enqueue(store, spec(body), spec(body))
    got = await store.storage.claim(["default"], "w", 10, 1000, 1000)
    assert ids(got) == [jobs[0].id]


async def test_settings_back_to_defaults_take_the_plain_path(store: Store) -> None:
    jobs = await enqueue(store, *[spec(str(i)) for i in range(3)])
    await limit(store, concurrency=1, paused=True)
    assert await claim(store, 3) == []
    await limit(store, concurrency=None, paused=False)
    got = await claim(store, 3)
    assert ids(got) == ids(jobs) and got.held == {}
