"""W3C Trace Context's ``traceparent``, as a job carries it: checked at the edge with the
rules of the recommendation, stored and handed back as it came."""

from __future__ import annotations

PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
"""``version-trace_id-parent_id-flags`` in lowercase hex (the version 00 format, which a
later version's parent must also send to a version 00 reader)."""

DESCRIPTION = (
    "W3C Trace Context `traceparent` (version-trace_id-parent_id-flags, lowercase hex);"
    " version ff and all-zero ids are refused"
)


def traceparent_problem(value: str) -> str | None:
    """What W3C Trace Context forbids in a value that matches ``PATTERN``: version ff,
    and a trace id or parent id of zeros only (an invalid context no span can link to)."""
    version, trace_id, parent_id, _ = value.split("-")
    if version == "ff":
        return "`traceparent`: version ff is invalid"
    if not trace_id.strip("0") or not parent_id.strip("0"):
        return "`traceparent`: the trace id and parent id must not be all zeros"
    return None
