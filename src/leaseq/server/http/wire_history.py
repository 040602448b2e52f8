"""``GET /stats/history``: the recent minutes of outcomes this node counted."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from leaseq.server.history import MAX_MINUTES
from leaseq.server.http.wire import _In


class HistoryQuery(_In):
    minutes: Annotated[int, Meta(ge=1, le=MAX_MINUTES)] = 30


class MinuteOut(Struct):
    at: str
    """The minute's start, RFC 3339."""
    done: int
    """Jobs acked (DONE): the throughput."""
    failed: int
    """Failures with tries left (a fail or an expired lease): retried later."""
    dead: int
    """Jobs that reached DEAD (a fail or an expiry on the last try)."""


class HistoryOut(Struct):
    minutes: list[MinuteOut]
    """Oldest first, the current (partial) minute last; a quiet minute is zeros. Counted
    by the node that answers, as its Prometheus counters are: on several PostgreSQL
    nodes each answers its own share."""
