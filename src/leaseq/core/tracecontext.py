"""W3C Trace Context's ``traceparent``, as a job carries it: checked at the edge, stored
and handed back as it came."""

from __future__ import annotations

PATTERN = r"^(?!ff)[0-9a-f]{2}-(?!0{32}-)[0-9a-f]{32}-(?!0{16}-)[0-9a-f]{16}-[0-9a-f]{2}$"
"""``version-trace_id-parent_id-flags`` in lowercase hex (the version 00 format, which a
later version must also send to a version 00 reader), without what the recommendation
forbids: version ``ff``, and a trace id or parent id of zeros only (an invalid context no
span can link to). All of it in the pattern, so that the OpenAPI document states exactly
what the server accepts."""

DESCRIPTION = (
    "W3C Trace Context `traceparent` (version-trace_id-parent_id-flags, lowercase hex);"
    " version ff and all-zero ids are refused"
)
