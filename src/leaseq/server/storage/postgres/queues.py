"""Queue settings on PostgreSQL, and the claim of queues that have them.

A claim of a limited queue is a transaction of two statements sent together: the first
locks the queue's settings row, so claimers of that queue on every node take turns; the
second starts only once the lock is held, so its snapshot sees every lease the claimers
before it committed, and it counts (LEASED jobs, leases in the rate window, LEASED jobs
per key, each count stopping at its limit) and leases in one statement. No claim can
slip between its count and its write. Queues without settings never come here: the
plain ``claim`` statement serves them with one primary-key probe of ``queues`` more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leaseq.core.queues import HeldBack, QueueChange, QueueSettings, RateLimit, held_back
from leaseq.server.storage import common, queries
from leaseq.server.storage.postgres.connection import Conn, all_rows, first, transaction

Q = queries.load("leaseq.server.storage.postgres")


async def settings(conn: Conn, names: Sequence[str] | None) -> dict[str, QueueSettings]:
    if names is None:
        rows = await all_rows(conn, Q["all_queue_settings"])
        return {row.name: common.settings_from_row(row) for row in rows}
    out = dict.fromkeys(names, QueueSettings())
    rows = await all_rows(conn, Q["queue_settings"], {"names": list(out)})
    out.update((row.name, common.settings_from_row(row)) for row in rows)
    return out


async def update(
    conn: Conn, name: str, change: QueueChange, clock_ms: int | None
) -> tuple[QueueSettings, QueueSettings]:
    """(before, after), in one transaction holding the queue's row."""
    params: dict[str, Any] = {"name": name, "now": clock_ms}
    async with transaction(conn):
        await conn.execute(Q["make_queue"], params)
        before = common.settings_from_row(await first(conn, Q["lock_queue"], params))
        after = change.apply(before)
        values = common.settings_values(after)
        wake = change.frees_slots(before)
        await conn.execute(Q["update_queue"], {**params, **values, "wake": wake})
    return before, after


async def claim_limited(conn: Conn, params: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """The rows of ``claim_limited`` (one brings ``limits``), and each limited queue's
    settings and counts by name."""
    async with transaction(conn):
        await conn.execute(Q["lock_queues"], params)
        cursor = await conn.execute(
            Q["claim_limited"], {**params, "key_scan": common.KEY_SCAN_ROWS}
        )
    rows = await cursor.fetchall()
    limits = next((row.limits for row in rows if row.limits is not None), ())
    return rows, {info["name"]: info for info in limits}


def limit_settings(info: dict[str, Any]) -> QueueSettings:
    rate = info["rate_count"]
    return QueueSettings(
        info["paused"],
        info["concurrency"],
        None if rate is None else RateLimit(rate, info["rate_per_ms"]),
        info["key_concurrency"],
    )


def held(limits: dict[str, Any], wanted: int) -> dict[str, HeldBack]:
    """Why each limited queue left ready jobs (``core.queues.held_back``)."""
    out = {}
    for name, info in limits.items():
        reason = held_back(
            limit_settings(info), info["leased"], info["in_window"], wanted, info["ready"],
            info["key_dropped"],
        )  # fmt: skip
        if reason is not None:
            out[name] = reason
    return out
