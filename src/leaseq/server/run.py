"""Runs the app under uvicorn (uvloop + httptools) with a graceful SIGTERM.

uvicorn stops accepting and waits for requests in flight on SIGTERM, but a long poll may
wait 30 s; so the first signal also tells the service to stop waiting, and every long
poll answers ``[]`` at once.
"""

from __future__ import annotations

from collections.abc import Callable
from types import FrameType

import uvicorn

from leaseq.server import logs
from leaseq.server.config import Settings
from leaseq.server.connections import BoundedHttpToolsProtocol, ConnectionLimits, connection_cap
from leaseq.server.http.app import create_app
from leaseq.server.wiring import build_service

GRACEFUL_SHUTDOWN_S = 10


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, stop_waiting: Callable[[], None]) -> None:
        super().__init__(config)
        self._stop_waiting = stop_waiting

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        loop = getattr(self, "_leaseq_loop", None)
        if loop is not None:
            loop.call_soon_threadsafe(self._stop_waiting)

    async def startup(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        import asyncio

        self._leaseq_loop = asyncio.get_running_loop()
        await super().startup(sockets)  # type: ignore[arg-type]


def serve(settings: Settings) -> None:
    logs.configure(settings.log_level, settings.log_format)
    service = build_service(settings)
    app = create_app(service, settings)
    limits = ConnectionLimits(
        max_header_bytes=settings.max_header_bytes,
        header_timeout_s=settings.header_timeout,
        max_connections=connection_cap(settings.max_connections),
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=BoundedHttpToolsProtocol.with_limits(limits),
        timeout_keep_alive=settings.keep_alive,  # type: ignore[arg-type]  # a float works
        log_level=settings.log_level,
        log_config=None,  # keep our root handler, so --log-format applies to uvicorn too
        ssl_certfile=settings.ssl_certfile,
        ssl_keyfile=settings.ssl_keyfile,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        lifespan="on",
    )
    _Server(config, service.stop_waiting).run()
