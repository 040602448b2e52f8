"""Runs the app under uvicorn (uvloop + httptools) with a graceful SIGTERM.

uvicorn stops accepting and waits for requests in flight on SIGTERM, but a long poll may
wait 30 s; so the first signal also closes the notifier, and every long poll answers
``[]`` at once.
"""

from __future__ import annotations

import logging
from types import FrameType

import uvicorn

from leaseq.config import LogFormat, Settings
from leaseq.http import create_app
from leaseq.notifier import Notifier

GRACEFUL_SHUTDOWN_S = 10


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, notifier: Notifier) -> None:
        super().__init__(config)
        self._notifier = notifier

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        loop = getattr(self, "_leaseq_loop", None)
        if loop is not None:
            loop.call_soon_threadsafe(self._notifier.close)

    async def startup(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        import asyncio

        self._leaseq_loop = asyncio.get_running_loop()
        await super().startup(sockets)  # type: ignore[arg-type]


def configure_logging(settings: Settings) -> None:
    fmt = (
        '{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","message":"%(message)s"}'
        if settings.log_format is LogFormat.JSON
        else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.basicConfig(level=settings.log_level.upper(), format=fmt)


def serve(settings: Settings) -> None:
    configure_logging(settings)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        lifespan="on",
    )
    _Server(config, app.state.service.notifier).run()
