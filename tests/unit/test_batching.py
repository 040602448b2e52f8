"""``client.batching.batches``: how ``Task.enqueue_many`` and ``leaseq enqueue --file``
split many specs into requests, by count and by encoded bytes (issue 14, defect 6)."""

from __future__ import annotations

import itertools

import msgspec
import pytest

from leaseq.client import JobSpec
from leaseq.client.batching import DEFAULT_BATCH_BYTES, batches
from leaseq.core import limits


def body(batch: list[JobSpec]) -> int:
    """The bytes of the request body the client sends for the batch."""
    return len(msgspec.json.encode({"jobs": batch}))


def specs(n: int, size: int) -> list[JobSpec]:
    return [JobSpec(payload="x" * size, queue="q") for _ in range(n)]


def test_small_specs_split_by_count() -> None:
    got = list(batches(specs(2500, 10)))
    assert [len(b) for b in got] == [limits.MAX_BATCH, limits.MAX_BATCH, 500]


def test_big_specs_split_by_bytes_and_every_body_fits() -> None:
    given = specs(20, 300_000) + specs(3000, 1000) + specs(5, 300_000)
    got = list(batches(given))
    assert [s for b in got for s in b] == given  # every spec once, in order
    assert all(body(b) <= DEFAULT_BATCH_BYTES for b in got)
    assert all(len(b) <= limits.MAX_BATCH for b in got)
    for before, after in itertools.pairwise(got):  # greedy: each batch was full
        assert body([*before, after[0]]) > DEFAULT_BATCH_BYTES


def test_a_body_exactly_at_the_limit_is_one_batch() -> None:
    two = specs(2, 100)
    assert [len(b) for b in batches(two, body(two))] == [2]
    assert [len(b) for b in batches(two, body(two) - 1)] == [1, 1]


def test_a_spec_over_the_limit_goes_alone() -> None:
    given = specs(1, 10) + specs(1, 5000) + specs(2, 10)
    got = list(batches(given, 2000))
    assert [len(b) for b in got] == [1, 1, 2] and got[1] == given[1:2]


def test_nothing_in_nothing_out_and_bad_limits_are_refused() -> None:
    assert list(batches([])) == []
    with pytest.raises(ValueError):
        list(batches(specs(1, 1), 0))
