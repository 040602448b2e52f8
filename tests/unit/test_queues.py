"""The pure rules of a queue's settings (``core.queues``): partial changes, what frees a
slot, how many jobs a claim may take, and why it held one back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leaseq.core.queues import (
    UNSET,
    HeldBack,
    QueueChange,
    QueueSettings,
    RateLimit,
    claimable,
    held_back,
)
from leaseq.server.storage.common import within_budget

LIMITS = st.none() | st.integers(1, 10)
SETTINGS = st.builds(
    QueueSettings,
    st.booleans(),
    LIMITS,
    st.none() | st.builds(RateLimit, st.integers(1, 10), st.integers(1, 5000)),
    LIMITS,
)


def test_the_defaults_limit_nothing() -> None:
    assert not QueueSettings().limited
    assert QueueSettings(paused=True).limited
    assert QueueSettings(key_concurrency=1).limited
    assert claimable(QueueSettings(), 10**6, 10**6, 7) == 7


def test_a_change_sets_only_what_it_names() -> None:
    before = QueueSettings(True, 3, RateLimit(5, 1000), 2)
    assert QueueChange().apply(before) == before
    unlimited = QueueSettings(True, None, RateLimit(5, 1000), 2)
    assert QueueChange(concurrency=None).apply(before) == unlimited
    assert QueueChange(paused=False, key_concurrency=UNSET).apply(before).key_concurrency == 2


@pytest.mark.parametrize(
    ("before", "change", "frees"),
    [
        (QueueSettings(paused=True), QueueChange(paused=False), True),
        (QueueSettings(), QueueChange(paused=True), False),
        (QueueSettings(concurrency=2), QueueChange(concurrency=3), True),
        (QueueSettings(concurrency=2), QueueChange(concurrency=None), True),
        (QueueSettings(concurrency=2), QueueChange(concurrency=1), False),
        (QueueSettings(), QueueChange(concurrency=5), False),
        (QueueSettings(key_concurrency=1), QueueChange(key_concurrency=2), True),
        (QueueSettings(rate_limit=RateLimit(1, 1000)), QueueChange(rate_limit=None), True),
        (QueueSettings(paused=True), QueueChange(concurrency=4), False),
    ],
)
def test_what_frees_slots(before: QueueSettings, change: QueueChange, frees: bool) -> None:
    assert change.frees_slots(before) is frees


@given(SETTINGS, st.integers(0, 12), st.integers(0, 12), st.integers(1, 12))
def test_claimable_never_passes_a_limit(
    s: QueueSettings, leased: int, in_window: int, wanted: int
) -> None:
    room = claimable(s, leased, in_window, wanted)
    assert 0 <= room <= wanted
    if s.paused:
        assert room == 0
    if s.concurrency is not None:
        assert leased + room <= max(s.concurrency, leased)
    if s.rate_limit is not None:
        assert in_window + room <= max(s.rate_limit.count, in_window)
    if not s.paused and s.concurrency is None and s.rate_limit is None:
        assert room == wanted


def test_held_back_names_the_rule_that_held_a_ready_job() -> None:
    paused = QueueSettings(paused=True)
    assert held_back(paused, 0, 0, 5, 1, 0) is HeldBack.PAUSED
    assert held_back(paused, 0, 0, 5, 0, 0) is None  # nothing was ready
    # Paused names the pause even when the only ready job also waits for its key: the
    # PostgreSQL claim weighs keys before it knows the queue is paused (found by the
    # model-based test: that store answered "key" where SQLite answered "paused").
    keyed_and_paused = QueueSettings(paused=True, key_concurrency=1)
    assert held_back(keyed_and_paused, 1, 0, 5, 0, 1) is HeldBack.PAUSED
    both = QueueSettings(concurrency=3, rate_limit=RateLimit(10, 1000))
    assert held_back(both, 3, 0, 5, 1, 0) is HeldBack.CONCURRENCY
    assert held_back(both, 0, 9, 5, 2, 0) is HeldBack.RATE
    assert held_back(both, 0, 0, 5, 3, 0) is None  # room for all three
    assert held_back(both, 0, 0, 2, 3, 0) is None  # the claim was full, not held
    keyed = QueueSettings(key_concurrency=1)
    assert held_back(keyed, 0, 0, 5, 2, 1) is HeldBack.KEY


def test_a_budget_counts_bytes_and_keeps_one() -> None:
    assert within_budget([], 10) == 0
    assert within_budget(["x" * 100], 10) == 1
    assert within_budget(["x" * 4, "x" * 4, "x" * 4], 10) == 2
    assert within_budget(["é" * 3, "é" * 3], 10) == 1  # 6 bytes each
    assert within_budget(["é" * 3, "é" * 2], 10) == 2
