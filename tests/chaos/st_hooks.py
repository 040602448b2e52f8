"""Schemathesis hooks (``SCHEMATHESIS_HOOKS=tests.chaos.st_hooks``).

A valid long poll on an empty queue (or a wait for an unfinished job) waits up to ``wait``
seconds (at most 30), which would make the fuzzing run take minutes of idle time; valid
waits are shortened to half a second. Out-of-range values are left alone, so the negative
cases still reach the server.
"""

from __future__ import annotations

from typing import Any

import schemathesis

MAX_WAIT_S = 0.5


@schemathesis.hook
def map_body(ctx: Any, body: Any) -> Any:
    if ctx.operation.path == "/poll" and isinstance(body, dict):
        wait = body.get("wait")
        if isinstance(wait, int | float) and not isinstance(wait, bool) and MAX_WAIT_S < wait <= 30:
            body["wait"] = MAX_WAIT_S
    return body


@schemathesis.hook
def map_query(ctx: Any, query: Any) -> Any:
    """``GET /jobs/{id}?wait=`` holds as a long poll does, until the job is finished: the
    same shortening."""
    if ctx.operation.path == "/jobs/{job_id}" and isinstance(query, dict):
        wait = query.get("wait")
        if isinstance(wait, int | float) and not isinstance(wait, bool) and MAX_WAIT_S < wait <= 30:
            query["wait"] = MAX_WAIT_S
    return query
