"""Request duration by route template (``/jobs/{job_id}``, not each id), as plain ASGI."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

Observe = Callable[[str, str, float], None]
"""``observe(method, route template, seconds)``: ``QueueService.observe_request``."""


class RequestTimer:
    def __init__(self, app: ASGIApp, observe: Observe) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.observe(scope["method"], path, time.perf_counter() - start)
