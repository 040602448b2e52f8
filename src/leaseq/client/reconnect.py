"""How a worker behaves while it cannot reach the server: say so at once, retry with a
jittered, capped backoff, stay quiet while it lasts, and say when the server is back.

A worker that only logged the error of each poll would either flood its log during an
outage or, with a long client-side retry, say nothing for many seconds: an operator who
starts a worker before the server (or mistypes ``--url``) must see why nothing runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from leaseq.core.backoff import Backoff
from leaseq.errors import LeaseqError

log = logging.getLogger("leaseq.client.worker")

RETRY_BASE_S = 0.1
RETRY_CAP_S = 2.0
REMIND_EVERY_S = 60.0
"""While an outage lasts, one reminder a minute, so a log read later still shows it."""


@dataclass(slots=True)
class Outage:
    """Counts consecutive failed polls; ``failed`` answers how long to wait before the
    next one. Time is injectable for tests."""

    url: str
    backoff: Backoff = field(default_factory=lambda: Backoff(RETRY_BASE_S, RETRY_CAP_S))
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    since: float = 0.0
    reminded: float = 0.0

    def failed(self, exc: LeaseqError) -> float:
        now = self.clock()
        self.failures += 1
        if self.failures == 1:
            self.since = self.reminded = now
            log.warning(
                "poll failed: %s; retrying every %g s at most until it works", exc, RETRY_CAP_S
            )
        elif now - self.reminded >= REMIND_EVERY_S:
            self.reminded = now
            log.warning("poll still failing after %.0f s: %s", now - self.since, exc)
        else:
            log.debug("poll failed (%d in a row): %s", self.failures, exc)
        return self.backoff.delay_ms(self.failures) / 1000

    def succeeded(self) -> None:
        if self.failures:
            log.info(
                "server at %s is back after %.1f s (%d failed polls)",
                self.url, self.clock() - self.since, self.failures,
            )  # fmt: skip
        self.failures = 0
