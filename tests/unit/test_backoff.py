from __future__ import annotations

import random

import pytest

from leaseq.core.backoff import Backoff


@pytest.mark.parametrize(("attempts", "ceiling"), [(1, 1.0), (2, 2.0), (3, 4.0), (8, 100.0)])
def test_ceiling_doubles_up_to_the_cap(attempts: int, ceiling: float) -> None:
    assert Backoff(1.0, 100.0).ceiling_s(attempts) == ceiling


def test_huge_attempt_counts_stay_at_the_cap() -> None:
    assert Backoff(0.5, 3600.0).ceiling_s(1000) == 3600.0


def test_equal_jitter_spreads_over_the_upper_half() -> None:
    backoff = Backoff(1.0, 3600.0, random.Random(1))
    delays = [backoff.delay_ms(3) for _ in range(2000)]
    assert min(delays) >= 2000 and max(delays) <= 4000
    # Spread, not a constant: both quarters of the window are hit.
    assert min(delays) < 2500 and max(delays) > 3500
