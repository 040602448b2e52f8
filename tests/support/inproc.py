"""The real app, in this process: no port, no subprocess, the same routes and lifespan.

``build_app`` is the only place an in-process test builds the app, so a change to
``build_app``'s signature is a change here and nowhere else. Two ways to reach it:

- ``lifespan(app)`` runs the lifespan on the test's own event loop, for async tests that
  use ``httpx.ASGITransport`` (which does not run the lifespan itself);
- ``InProcessServer`` runs the app on an event loop in a background thread (an anyio
  blocking portal, as Starlette's ``TestClient`` does) and hands out a *sync* httpx
  transport to it, so sync tests and the sync ``leaseq.Client`` keep their shape,
  including requests sent from several threads at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
from starlette.applications import Starlette

from leaseq.server.config import Settings
from leaseq.server.wiring import build_app as build_server_app

BASE_URL = "http://127.0.0.1"
"""A loopback name, as a client of a server on loopback sends in its ``Host``."""

# Fast retries and reaping; ``tests.conftest.FAST`` passes the same to a subprocess server.
FAST: dict[str, Any] = {"retry_base": 0.2, "retry_cap": 2, "reap_interval": 0.2}


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings on a fresh SQLite file in ``tmp_path``; ``overrides`` as for ``Settings``."""
    return Settings(**{"db": f"sqlite:///{tmp_path / 'leaseq.db'}", **overrides})


def build_app(settings: Settings) -> Starlette:
    """The one place the app is built for in-process tests: as ``leaseq serve`` builds it."""
    return build_server_app(settings)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[Starlette]:
    """Opens the store and starts the reaper as ``leaseq serve`` does, and stops them."""
    async with app.router.lifespan_context(app):
        yield app


@contextlib.asynccontextmanager
async def async_http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An async client on the running app (the caller runs its lifespan)."""
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=10) as client:
        yield client


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


class PortalTransport(httpx.BaseTransport):
    """A sync transport that runs each request through ``httpx.ASGITransport`` on the
    portal's event loop. The body keeps its chunks and its headers exactly as the client
    made them (a streamed body still has no Content-Length)."""

    def __init__(self, app: Starlette, portal: anyio.from_thread.BlockingPortal) -> None:
        self._asgi = httpx.ASGITransport(app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        chunks = [bytes(chunk) for chunk in request.stream]  # type: ignore[union-attr]

        async def send() -> tuple[int, httpx.Headers, bytes]:
            inner = httpx.Request(
                request.method, request.url, headers=request.headers, stream=_Chunks(chunks)
            )
            response = await self._asgi.handle_async_request(inner)
            try:
                raw = b"".join([part async for part in response.aiter_raw()])
            finally:
                await response.aclose()
            return response.status_code, response.headers, raw

        status, headers, raw = self._portal.call(send)
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(raw))


class InProcessServer:
    """The app running on a background event loop, lifespan included, until closed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = build_app(settings)
        self._stack = contextlib.ExitStack()
        self._opened: list[httpx.Client] = []
        self.portal: anyio.from_thread.BlockingPortal | None = None

    def start(self) -> InProcessServer:
        portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        self._stack.enter_context(portal.wrap_async_context_manager(lifespan(self.app)))
        self.portal = portal
        return self

    def transport(self) -> PortalTransport:
        assert self.portal is not None, "start() first"
        return PortalTransport(self.app, self.portal)

    def client(self, **options: Any) -> httpx.Client:
        """An httpx client on this server, closed with it if the caller does not."""
        client = httpx.Client(transport=self.transport(), base_url=BASE_URL, **options)
        self._opened.append(client)
        return client

    def close(self) -> None:
        for client in self._opened:
            client.close()
        self._stack.close()

    def __enter__(self) -> InProcessServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
