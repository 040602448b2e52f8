"""Retry delay: exponential with equal jitter. Pure; the RNG is injectable for tests."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """``d = min(cap, base * 2**(attempts-1))``, then a delay uniform in ``[d/2, d]``.

    Equal jitter keeps a floor under the delay (a retry never comes back at once) while
    spreading a burst of failures so they do not return together.
    """

    base_s: float = 1.0
    cap_s: float = 3600.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def ceiling_s(self, attempts: int) -> float:
        """The upper end of the window after ``attempts`` leases (attempts >= 1)."""
        exponent = max(attempts - 1, 0)
        if exponent >= 64:  # 2**64 * base is past any sane cap; avoid float overflow
            return self.cap_s
        return min(self.cap_s, self.base_s * 2.0**exponent)

    def delay_ms(self, attempts: int) -> int:
        d = self.ceiling_s(attempts)
        return round(self.rng.uniform(d / 2, d) * 1000)
