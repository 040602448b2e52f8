"""The minute ring behind ``/stats/history``: pure, with times given."""

from __future__ import annotations

from leaseq.server.history import MAX_MINUTES, MINUTE_MS, History

T0 = 1_700_000_040_000  # a minute's start


def test_counts_land_in_their_minute_and_quiet_minutes_are_zeros() -> None:
    h = History()
    h.add("done", T0 + 5)
    h.add("done", T0 + 59_999, 3)
    h.add("dead", T0 + 2 * MINUTE_MS)
    h.add("failed", T0 + 2 * MINUTE_MS + 1)
    got = [(m.start_ms, m.done, m.failed, m.dead) for m in h.window(T0 + 2 * MINUTE_MS + 9, 4)]
    assert got == [
        (T0 - MINUTE_MS, 0, 0, 0), (T0, 4, 0, 0), (T0 + MINUTE_MS, 0, 0, 0),
        (T0 + 2 * MINUTE_MS, 0, 1, 1),
    ]  # fmt: skip


def test_keeps_the_last_hour_only_and_ignores_what_is_too_old() -> None:
    h = History()
    for i in range(MAX_MINUTES + 5):
        h.add("done", T0 + i * MINUTE_MS)
    h.add("done", T0)  # fell out of the ring: not counted again as a new minute
    now = T0 + (MAX_MINUTES + 4) * MINUTE_MS
    window = h.window(now, MAX_MINUTES)
    assert len(window) == MAX_MINUTES and all(m.done == 1 for m in window)
    assert window[0].start_ms == T0 + 5 * MINUTE_MS
