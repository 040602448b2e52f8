"""The cron grammar the API states (``server/http/cron.py``): everything it matches is an
expression cronsim takes, and the common forms are in it."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaseq.core.schedules import Cadence
from leaseq.errors import InvalidRequest
from leaseq.server.http.cron import CRON, CRON_PATTERN

TAKEN = ["*/5 * * * *", "0 9 * * 1-5", "0 9 * * MON-FRI", "30 2 * * *", "@hourly",
         "0 0 1 jan,jul *", "0-30/10 8-18 * * sun", "59 23 31 12 7", "5/15 * * * *"]  # fmt: skip
REFUSED = ["5-3 * * * *", "60 * * * *", "* * * * * *", "05 * * * *", "0 0 L * *",
           "*/0 * * * *", " 0 * * * *", "0 24 * * *", "0 0 0 * *", "0 0 * 13 *",
           "0 0 * * 8", "0 0 * * FRI-MON", "@HOURLY", "@every 5m", ""]  # fmt: skip


def test_common_forms_match_and_others_do_not() -> None:
    assert [bool(CRON.match(e)) for e in TAKEN] == [True] * len(TAKEN)
    assert [bool(CRON.match(e)) for e in REFUSED] == [False] * len(REFUSED)


@settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.from_regex(CRON_PATTERN, fullmatch=True))
def test_every_match_is_an_expression_cronsim_takes(expr: str) -> None:
    try:
        Cadence(cron=expr)
    except InvalidRequest as exc:
        # The one gap: a day of the month that none of its months has (0 0 31 2 *).
        assert "day-of-month" in str(exc), exc
