"""Rate limits as people write them, ``10/1s`` or ``100/1m``, to and from a count and a
window in seconds: the one parser of the SDK's ``RateLimit.parse`` and the CLI's
``--rate``, checked against the API's limits so that a bad value is refused here with a
message that says why, before a request is made."""

from __future__ import annotations

import math
import re

from leaseq.core.limits import MAX_RATE_COUNT, MAX_RATE_WINDOW_S

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_RATE = re.compile(r"^\s*(?P<count>\d+)\s*/\s*(?P<amount>\d+(?:\.\d+)?)?\s*(?P<unit>[a-z]+)?\s*$")
EXAMPLES = "10/1s, 100/1m, 5/500ms or 3600/h"
MIN_WINDOW_S = 0.001
"""A millisecond: the server keeps windows as whole milliseconds."""


def parse_rate(text: str) -> tuple[int, float]:
    """The count and the window in seconds, or ``ValueError`` saying what is wrong."""
    match = _RATE.match(text.lower())
    if match is None:
        raise ValueError(f"rate {text!r} is not COUNT/WINDOW, such as {EXAMPLES}")
    unit = match["unit"]
    if unit is None:
        raise ValueError(f"rate {text!r} needs a unit for its window: ms, s, m, h or d")
    if unit not in UNITS:
        raise ValueError(f"rate {text!r} has an unknown unit {unit!r}: use ms, s, m, h or d")
    count = int(match["count"])
    if not 1 <= count <= MAX_RATE_COUNT:
        raise ValueError(f"rate {text!r}: the count must be from 1 to {MAX_RATE_COUNT}")
    per_s = float(match["amount"] or 1) * UNITS[unit]
    if not MIN_WINDOW_S <= per_s <= MAX_RATE_WINDOW_S:
        raise ValueError(f"rate {text!r}: the window must be from 1ms to {MAX_RATE_WINDOW_S:g}s")
    return count, round(per_s, 3)


def format_window(per_s: float) -> str:
    """The window in its largest whole unit: ``1s``, ``5m``, ``500ms``, ``1.5s``."""
    for unit in ("d", "h", "m", "s"):
        amount = per_s / UNITS[unit]
        if amount >= 1 and math.isclose(amount, round(amount)):
            return f"{round(amount)}{unit}"
    ms = per_s * 1000
    if math.isclose(ms, round(ms)) and ms < 1000:
        return f"{round(ms)}ms"
    return f"{per_s:g}s"
