"""``Ride``: which acks board the next poll and which go on their own."""

from __future__ import annotations

import asyncio

from leaseq.client.riding import Ride
from leaseq.core import limits


def test_only_a_leaving_poll_takes_riders_and_never_more_than_it_carries() -> None:
    alone: list[int] = []
    ride: Ride[int] = Ride(alone.append)
    ride.offer(1)  # no poll is about to leave: sent on its own at once
    assert alone == [1] and ride.take() == []
    ride.boarding = True
    for i in range(limits.MAX_POLL_ACKS + 5):
        ride.offer(i)
    assert ride.take() == list(range(limits.MAX_POLL_ACKS))
    assert alone[1:] == list(range(limits.MAX_POLL_ACKS, limits.MAX_POLL_ACKS + 5))
    assert ride.take() == []


def test_the_riders_of_a_failed_poll_go_on_their_own() -> None:
    alone: list[str] = []
    ride: Ride[str] = Ride(alone.append)
    ride.boarding = True
    ride.offer("a")
    ride.offer("b")
    ride.unboard(ride.take())
    assert alone == ["a", "b"] and ride.take() == []


async def test_what_ends_in_the_collecting_turn_rides_and_what_ends_later_goes_alone() -> None:
    alone: list[str] = []
    ride: Ride[str] = Ride(alone.append)

    async def job(name: str, turns: int) -> None:
        for _ in range(turns):
            await asyncio.sleep(0)
        ride.offer(name)

    quick = asyncio.create_task(job("quick", 0))  # ends in the next turn
    slow = asyncio.create_task(job("slow", 3))
    await ride.collect()
    assert ride.take() == ["quick"] and not ride.boarding
    await asyncio.gather(quick, slow)
    assert alone == ["slow"]
