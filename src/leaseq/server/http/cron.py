"""The cron expressions the API takes, as one regular expression the OpenAPI document
states and the edge enforces: five fields (minute hour day-of-month month day-of-week),
each ``*``, ``*/step`` or a comma list of values, ranges ``a-b`` (``a`` at most ``b``) and
either with ``/step``; month and weekday names (``JAN``, ``mon``); or one of the
``@hourly``-style aliases.

Why a grammar here, when ``cronsim`` parses (``leaseq.core.schedules``): a schema that
says "any string" would promise that every string is accepted, and cronsim also takes
forms outside the five-field language the API documents (a sixth, seconds field; ``L``,
``W`` and ``#``; leading zeros). Every string this grammar matches is one cronsim
accepts, except impossible dates such as ``0 0 31 2 *``, which it still refuses by name.
The expression is built from the field ranges rather than written out, because a range
whose start is after its end must not match, and only an enumeration says that.
"""

from __future__ import annotations

import re

from leaseq.core.schedules import ALIASES

_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
STEP = "[1-9][0-9]{0,2}"


def _number(lo: int, hi: int) -> str:
    """Decimal numbers from ``lo`` to ``hi`` (at most 99), without leading zeros: a
    class of units per tens digit, the full tens in between as one class."""
    if lo // 10 == hi // 10:
        return _units(lo // 10, lo % 10, hi % 10)
    first, last = lo // 10, hi // 10
    parts = [_units(first, lo % 10, 9)]
    if last - first > 1:
        tens = str(first + 1) if last - first == 2 else f"[{first + 1}-{last - 1}]"
        parts.append(f"{tens}[0-9]")
    parts.append(_units(last, 0, hi % 10))
    return "|".join(parts)


def _units(tens: int, first: int, last: int) -> str:
    units = str(first) if first == last else f"[{first}-{last}]"
    return units if tens == 0 else f"{tens}{units}"


def _name(word: str) -> str:
    return "".join(f"[{c.upper()}{c}]" for c in word)


class _Field:
    """One field's values: numbers ``lo..hi``, and names for some of them."""

    def __init__(self, lo: int, hi: int, names: dict[int, str] | None = None) -> None:
        self.lo, self.hi, self.names = lo, hi, names or {}

    def values(self, lo: int) -> str:
        """Any value at or after ``lo``, as a number or a name."""
        names = [_name(w) for v, w in self.names.items() if v >= lo]
        return "|".join([_number(lo, self.hi), *names])

    def start(self, value: int) -> str:
        name = self.names.get(value)
        return str(value) if name is None else f"(?:{value}|{_name(name)})"

    def item(self) -> str:
        ranges = "|".join(f"{self.start(v)}-(?:{self.values(v)})" for v in range(self.lo, self.hi))
        return f"(?:(?:{ranges})(?:/{STEP})?|(?:{self.values(self.lo)})(?:/{STEP})?)"

    def pattern(self) -> str:
        item = self.item()
        return rf"(?:\*(?:/{STEP})?|{item}(?:,{item})*)"


FIELDS = [
    _Field(0, 59),
    _Field(0, 23),
    _Field(1, 31),
    _Field(1, 12, {i + 1: m for i, m in enumerate(_MONTHS)}),
    _Field(0, 7, dict(enumerate(_DAYS))),
]

CRON_PATTERN = (
    "^(?:"
    + "|".join(re.escape(alias) for alias in ALIASES)
    + "|"
    + " +".join(f.pattern() for f in FIELDS)
    + ")$"
)
"""What ``cron`` may be, in the dialect JSON Schema and Python share."""

CRON = re.compile(CRON_PATTERN)
FORM = "five fields (minute hour day-of-month month day-of-week) or an alias such as @hourly"
