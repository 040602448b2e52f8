"""Bounds on connections, before any request reaches the app.

uvicorn's httptools protocol reads headers of any size for as long as a client cares to
send them, never closes a connection that has not yet sent a request, and caps nothing
but concurrent tasks. A job server faces the open network, so this subclass adds what
nginx and h11 have: headers must arrive within ``header_timeout_s`` of a request's (or the
connection's) start and stay under ``max_header_bytes``, and at most ``max_connections``
sockets are open at once (the rest are answered 503 and closed, with one log line per
burst), so that file descriptors never run out under a flood of idle sockets.

Errors found here are answered in the API's error shape, ``{"error": {...}}``, not the
plain text uvicorn writes, so every client parses one format.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("leaseq.server.connections")

REFUSED_LINGER_S = 0.5

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large",
            503: b"Service Unavailable"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_bytes: int = 32 * 1024
    """Request line plus headers, as nginx's default 4 x 8 KiB large buffers."""
    header_timeout_s: float = 10.0
    """From a connection's start, or a request's first byte, to the end of its headers."""
    max_connections: int = 900
    """Open sockets at once; below the common soft limit of 1,024 file descriptors."""


def error_bytes(status: int, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 response in the API's error shape that closes the connection."""
    body = msgspec.json.encode({"error": {"code": code, "message": message}})
    head = (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n" % (status, _REASONS.get(status, b""), len(body))
    )
    return head + body


class _Refusals:
    """Counts refused connections, logging the first of a burst and then once a minute."""

    def __init__(self) -> None:
        self.count = 0
        self.logged_at = float("-inf")

    def note(self, limit: int) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.logged_at >= 60:
            log.warning(
                "connection limit reached: %d sockets open (--max-connections); refused %d"
                " connection(s) with 503 since the last such line",
                limit, self.count,
            )  # fmt: skip
            self.logged_at, self.count = now, 0


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds of ``ConnectionLimits``."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    refusals: ClassVar[_Refusals] = _Refusals()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_bytes = 0
        self._in_headers = True
        self._header_timer: asyncio.TimerHandle | None = None
        self._refused: asyncio.Transport | None = None

    @classmethod
    def with_limits(cls, limits: ConnectionLimits) -> type[BoundedHttpToolsProtocol]:
        """A subclass bound to ``limits``: uvicorn builds protocols from a class."""
        return type(cls.__name__, (cls,), {"limits": limits, "refusals": _Refusals()})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self.refusals.note(self.limits.max_connections)
            self._refused = transport
            transport.write(error_bytes(503, "too_many_connections", "too many connections"))
            # Closing with the request unread would reset the connection before the
            # client reads the 503; read and drop it for a moment instead.
            self.loop.call_later(REFUSED_LINGER_S, transport.close)
            return
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        if self._refused is not None:  # refused in connection_made: nothing was set up
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused is not None:
            return
        if self._in_headers:
            if self._header_timer is None:  # the first byte of a keep-alive's next request
                self._arm_header_timer()
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                message = f"request headers are over {self.limits.max_header_bytes} bytes"
                self._refuse(431, "headers_too_large", message)
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # Whatever comes next on this connection is the next request's headers; its
        # timer starts with its first byte (idleness until then is uvicorn's keep-alive).
        self._in_headers, self._header_bytes = True, 0

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "invalid_request", msg)

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._cancel_header_timer()
        if not self.transport.is_closing():
            self.transport.write(error_bytes(status, code, message))
            self.transport.close()

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(
            self.limits.header_timeout_s, self._header_timeout
        )

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_header_timer()  # a pipelined request waits on one in flight: not idle
            return
        message = f"request headers did not arrive within {self.limits.header_timeout_s:g} s"
        self._refuse(408, "header_timeout", message)
