"""What ``leaseq worker`` does with an app's declared schedules: put them on the server.

Each is sent without ``paused``, so every worker of a fleet may put them at start, as
often as it restarts, and none unpauses a schedule an operator paused; the server, not
the workers, then enqueues their slots (exactly one job per slot, however many workers).
"""

from __future__ import annotations

import asyncio
import logging

from leaseq.client.aio import AsyncClient
from leaseq.client.tasks import App
from leaseq.errors import LeaseqError, ServerUnavailable

log = logging.getLogger("leaseq.client.worker")

RETRY_PAUSE_S = 1.0


async def put_declared(
    client: AsyncClient, app: App, stopping: asyncio.Event, enabled: bool = True
) -> None:
    """Puts each declared schedule once. While the server cannot be reached it tries
    again (the worker polls meanwhile); a refusal, such as a token without the admin
    role, is logged as an error naming the schedule, and the worker goes on."""
    pending = list(app.schedules.values()) if enabled else []
    while pending and not stopping.is_set():
        declared = pending[0]
        try:
            put = await client.send(declared.call())
        except ServerUnavailable as exc:
            log.warning("schedule %s not put yet: %s", declared.name, exc)
            try:
                await asyncio.wait_for(stopping.wait(), RETRY_PAUSE_S)
            except TimeoutError:
                pass
            continue
        except LeaseqError as exc:
            log.error("schedule %s was not put on the server: %s", declared.name, exc)
        else:
            state = "paused" if put.paused else f"next run {put.next_run_at}"
            log.info("schedule %s put (%s)", put.name, state)
        pending.pop(0)
