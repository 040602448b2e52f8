"""The last hour of outcomes, a minute at a time, as this node saw them: what the
dashboard's throughput and failure chart draws, so that it is full on page load.

A ring of at most ``MAX_MINUTES`` buckets fed where the Prometheus counters are fed
(``Observer.transitioned``), so it counts what they count: this node's transitions, not
the cluster's. It is in memory and starts empty when the node does.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from leaseq.core.model import Action, JobRecord, JobState

MINUTE_MS = 60_000
MAX_MINUTES = 60


@dataclass(slots=True)
class Minute:
    """Outcomes in one minute: ``done`` is throughput; ``failed`` are failures that will
    be retried (a fail or an expired lease with tries left), ``dead`` jobs that reached
    the dead letter queue (a fail or an expiry on the last try)."""

    start_ms: int
    done: int = 0
    failed: int = 0
    dead: int = 0


def outcome(action: Action, job: JobRecord) -> str | None:
    """Which count of ``Minute`` a transition adds to, if any."""
    if action is Action.DONE:
        return "done"
    if action in (Action.FAILED, Action.EXPIRED, Action.TIMED_OUT):
        return "dead" if job.state is JobState.DEAD else "failed"
    return None


class History:
    def __init__(self) -> None:
        self._minutes: deque[Minute] = deque(maxlen=MAX_MINUTES)

    def add(self, field: str, at_ms: int, n: int = 1) -> None:
        """Counts ``n`` outcomes at ``at_ms`` (the store's time of the transition)."""
        start = at_ms - at_ms % MINUTE_MS
        for minute in reversed(self._minutes):  # the newest, almost always
            if minute.start_ms == start:
                setattr(minute, field, getattr(minute, field) + n)
                return
            if minute.start_ms < start:
                break
        if self._minutes and start < self._minutes[-1].start_ms:
            return  # older than the newest bucket and not kept: too late to count
        self._minutes.append(Minute(start))
        setattr(self._minutes[-1], field, n)

    def window(self, now_ms: int, minutes: int) -> list[Minute]:
        """The last ``minutes`` minutes up to and with the current one, oldest first, a
        minute with nothing in it as zeros."""
        newest = now_ms - now_ms % MINUTE_MS
        kept = {m.start_ms: m for m in self._minutes}
        starts = (newest - i * MINUTE_MS for i in reversed(range(minutes)))
        return [kept.get(s) or Minute(s) for s in starts]
