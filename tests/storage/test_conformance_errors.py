"""Structured errors on every backend: the type and message a fail stores beside its
text, what the other transitions do with them, and dead letters grouped by them."""

from __future__ import annotations

from leaseq.core.backoff import Backoff
from leaseq.core.commands import Fail, Requeue
from leaseq.core.model import JobRecord, JobState, NewJob
from tests.storage.conftest import Store

LEASE_MS = 300


async def _dead(
    store: Store, n: int, text: str, kind: str | None, message: str | None
) -> list[JobRecord]:
    await store.storage.enqueue([NewJob(payload="{}", max_tries=1) for _ in range(n)])
    out = []
    for job in await store.storage.claim(["default"], "w1", n, LEASE_MS):
        fail = Fail(job.id, job.lease_token or "", text, True, Backoff(0.2, 0.2), kind, message)
        (dead,) = await store.storage.modify([fail])
        assert isinstance(dead, JobRecord), dead
        out.append(dead)
    return out


async def test_fail_stores_type_and_message(store: Store) -> None:
    (dead,) = await _dead(store, 1, "Traceback ...\nValueError: bad", "ValueError", "bad")
    stored = await store.storage.get(dead.id)
    assert stored is not None and stored.state is JobState.DEAD
    assert (stored.last_error_type, stored.last_error_message) == ("ValueError", "bad")
    assert stored.last_error == "Traceback ...\nValueError: bad"


async def test_a_later_failure_overwrites_all_three(store: Store) -> None:
    await store.storage.enqueue([NewJob(payload="{}", max_tries=3)])
    (leased,) = await store.storage.claim(["default"], "w1", 1, LEASE_MS)
    first = Fail(leased.id, leased.lease_token or "", "tb", True, Backoff(0, 0), "KeyError", "k")
    await store.storage.modify([first])
    store.advance(0.01)
    (again,) = await store.storage.claim(["default"], "w1", 1, LEASE_MS)
    plain = Fail(again.id, again.lease_token or "", "plain", True, Backoff(0, 0))
    await store.storage.modify([plain])
    stored = await store.storage.get(leased.id)
    assert stored is not None
    assert (stored.last_error, stored.last_error_type, stored.last_error_message) == (
        "plain", None, None,
    )  # fmt: skip


async def test_an_expiry_clears_type_and_message(store: Store) -> None:
    await store.storage.enqueue([NewJob(payload="{}", max_tries=2)])
    (leased,) = await store.storage.claim(["default"], "w1", 1, LEASE_MS)
    fail = Fail(leased.id, leased.lease_token or "", "tb", True, Backoff(0, 0), "OSError", "x")
    await store.storage.modify([fail])
    store.advance(0.01)
    await store.storage.claim(["default"], "w1", 1, LEASE_MS)
    store.advance(1)
    (expired,) = await store.storage.expire_leases(10)
    assert expired.state is JobState.DEAD
    stored = await store.storage.get(leased.id)
    assert stored is not None
    assert (stored.last_error, stored.last_error_type, stored.last_error_message) == (
        "lease expired", None, None,
    )  # fmt: skip


async def test_dead_groups_by_type_and_message_else_text(store: Store) -> None:
    # Three ValueErrors with the same message but different tracebacks are one group.
    await _dead(store, 1, "tb one\nValueError: bad", "ValueError", "bad")
    await _dead(store, 2, "tb two\nValueError: bad", "ValueError", "bad")
    await _dead(store, 2, "tb\nKeyError: 'k'", "KeyError", "'k'")
    await _dead(store, 1, "old worker text", None, None)
    groups = await store.storage.dead_groups("default", 10, 2)
    assert [(g.error_type, g.error_message, g.count, len(g.job_ids)) for g in groups] == [
        ("ValueError", "bad", 3, 2), ("KeyError", "'k'", 2, 2), (None, None, 1, 1),
    ]  # fmt: skip
    assert groups[0].error in ("tb one\nValueError: bad", "tb two\nValueError: bad")
    assert groups[2].error == "old worker text"


async def test_requeue_keeps_the_error_fields(store: Store) -> None:
    (dead,) = await _dead(store, 1, "tb", "ValueError", "bad")
    (requeued,) = await store.storage.modify([Requeue(dead.id)])
    assert isinstance(requeued, JobRecord), requeued
    assert (requeued.last_error_type, requeued.last_error_message) == ("ValueError", "bad")
