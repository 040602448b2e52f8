"""The slot arithmetic of schedules: pure, so checked exhaustively here; storage and the
nodes only take the slot it names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leaseq.core.schedules import MAX_SKIPPED_COUNTED, Cadence, Due, slot_key
from leaseq.errors import InvalidRequest


def ms(text: str) -> int:
    return round(datetime.fromisoformat(text).timestamp() * 1000)


def utc(slot_ms: int) -> str:
    return datetime.fromtimestamp(slot_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def test_every_falls_on_multiples_of_its_period_since_the_epoch() -> None:
    every = Cadence(every_ms=60_000)
    assert every.next_slot(ms("2026-12-01T10:00:30+00:00")) == ms("2026-12-01T10:01:00+00:00")
    assert every.next_slot(ms("2026-12-01T10:01:00+00:00")) == ms("2026-12-01T10:02:00+00:00")


def test_cron_slots_in_a_time_zone() -> None:
    nine = Cadence(cron="0 9 * * *", timezone="America/New_York")
    assert utc(nine.next_slot(ms("2026-12-01T00:00:00+00:00"))) == "2026-12-01 14:00:00"


@pytest.mark.parametrize(
    ("day", "want_utc"),
    [("2026-03-29", ["2026-03-28 01:30:00", "2026-03-29 01:00:00", "2026-03-30 00:30:00"]),
     ("2026-10-25", ["2026-10-24 00:30:00", "2026-10-25 00:30:00", "2026-10-26 01:30:00"])],
    ids=["spring-forward", "fall-back"],
)  # fmt: skip
def test_a_daily_0230_in_berlin_runs_once_on_both_change_days(
    day: str, want_utc: list[str]
) -> None:
    """On the spring day 02:30 does not exist (it runs at 03:00, once); on the autumn
    day it happens twice (it runs at the first, once)."""
    daily = Cadence(cron="30 2 * * *", timezone="Europe/Berlin")
    at, seen = ms(f"{day}T00:00:00+00:00") - 36 * 3600_000, []
    for _ in range(3):
        at = daily.next_slot(at)
        seen.append(utc(at))
    assert seen == want_utc


def test_after_downtime_one_job_for_the_latest_slot_and_the_rest_counted_skipped() -> None:
    every = Cadence(every_ms=1000)
    last = ms("2026-12-01T10:00:00+00:00")
    assert every.due(last, last + 999, since_ms=0) is None
    assert every.due(last, last + 1000, since_ms=0) == Due(last + 1000, 0)
    assert every.due(last, last + 10_500, since_ms=0) == Due(last + 10_000, 9)
    cron = Cadence(cron="*/5 * * * *")
    assert cron.due(last, last + 17 * 60_000, since_ms=0) == Due(last + 15 * 60_000, 2)


def test_a_new_or_resumed_schedule_does_not_replay_old_slots() -> None:
    every = Cadence(every_ms=1000)
    created = ms("2026-12-01T10:00:00.500+00:00")
    assert every.due(None, created + 100, since_ms=created) is None
    assert every.due(None, created + 600, since_ms=created) == Due(created + 500, 0)
    old = ms("2026-12-01T09:00:00+00:00")  # last slot before a pause; resumed at `created`
    assert every.due(old, created + 600, since_ms=created) == Due(created + 500, 0)


def test_the_skipped_count_is_bounded() -> None:
    minutely = Cadence(cron="* * * * *")
    last = ms("2026-01-01T00:00:00+00:00")
    due = minutely.due(last, last + 30 * 86400_000, since_ms=0)
    assert due == Due(last + 30 * 86400_000, MAX_SKIPPED_COUNTED)


def test_aliases_and_the_slot_key() -> None:
    hourly = Cadence(cron="@hourly")
    assert utc(hourly.next_slot(ms("2026-12-01T10:59:59+00:00"))) == "2026-12-01 11:00:00"
    assert slot_key("nightly", ms("2026-12-01T03:00:00+00:00")) == (
        "schedule:nightly:2026-12-01T03:00:00.000Z"
    )


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [({"cron": "61 * * * *"}, "cron"), ({"cron": "* * *"}, "cron"),
     ({"cron": "* * * * *", "timezone": "Mars/Olympus"}, "timezone"),
     ({"every_ms": 500}, "every"), ({}, "exactly one"),
     ({"cron": "* * * * *", "every_ms": 1000}, "exactly one")],
)  # fmt: skip
def test_bad_cadences_are_refused_naming_the_field(kwargs: dict[str, object], names: str) -> None:
    with pytest.raises(InvalidRequest, match=names):
        Cadence(**kwargs)  # type: ignore[arg-type]
