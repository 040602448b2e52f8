"""The endpoints an operator reads to see the fleet (health, workers, dead-letter
groups), described once (sans-I/O) as ``calls`` describes the rest; apart so that
neither module passes its size budget."""

from __future__ import annotations

import msgspec

from leaseq.client.calls import Call
from leaseq.client.models import DeadGroup, Health, WorkerSeen


def health() -> Call[Health]:
    return Call("GET", "/health", lambda c: msgspec.json.decode(c, type=Health), safe=True)


class _WorkersOut(msgspec.Struct):
    workers: list[WorkerSeen]


def workers(within: float | None, limit: int) -> Call[list[WorkerSeen]]:
    params = {"limit": str(limit)} | ({} if within is None else {"within": str(within)})
    return Call(
        "GET", "/workers", lambda c: msgspec.json.decode(c, type=_WorkersOut).workers,
        params=params, safe=True,
    )  # fmt: skip


class _DeadGroupsOut(msgspec.Struct):
    groups: list[DeadGroup]


def dead_groups(queue: str, groups: int, ids: int) -> Call[list[DeadGroup]]:
    params = {"queue": queue, "groups": str(groups), "ids": str(ids)}
    return Call(
        "GET", "/dead/groups", lambda c: msgspec.json.decode(c, type=_DeadGroupsOut).groups,
        params=params, safe=True,
    )  # fmt: skip
