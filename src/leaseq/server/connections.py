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
import resource
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from leaseq.core import limits as api_limits
from leaseq.errors import (
    HeadersTooLarge,
    HeaderTimeout,
    InvalidRequest,
    LeaseqError,
    TooManyConnections,
)
from leaseq.server.http.errors import status_of

log = logging.getLogger("leaseq.server.connections")

REFUSED_LINGER_S = 0.5

MAX_LINGERING = api_limits.FD_HEADROOM // 2
"""Refused sockets left open at once to drain their request, at most half the headroom
of descriptors kept for the store and the logs."""
DRAIN_BYTES = 16 * 1024 * 1024
DRAIN_S = 2.0
"""After an answer sent before its request's body was read (a 413 on the declared
``Content-Length``, a 401, a 415), the rest of the body is read and dropped, up to these
bounds, before the connection closes: closing with unread bytes makes the kernel reset the
connection, and a client still sending would see ECONNRESET instead of the answer."""

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 413: b"Content Too Large",
            431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_bytes: int = api_limits.MAX_HEADER_BYTES
    """Request line plus headers, as nginx's default 4 x 8 KiB large buffers."""
    header_timeout_s: float = api_limits.HEADER_TIMEOUT_S
    """From a connection's start, or a request's first byte, to the end of its headers."""
    max_connections: int = 1024 - api_limits.FD_HEADROOM
    """Open sockets at once; below the common soft limit of 1,024 file descriptors."""


MAX_AUTO_FDS = 1 << 20
"""The soft limit asked for when the hard one is unlimited (Linux's default nr_open)."""


def connection_cap(requested: int) -> int:
    """``requested``, or when it is 0 the soft ``RLIMIT_NOFILE`` less ``FD_HEADROOM``,
    after raising the soft limit to the hard one where the process may. Logs the cap, and
    warns when a requested one leaves less than the headroom of descriptors free."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = MAX_AUTO_FDS if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError) as exc:
            log.info("could not raise the file descriptor limit from %d to %d: %s", soft, want, exc)
    room = max(16, soft - api_limits.FD_HEADROOM)
    cap = requested or room
    if requested > room:
        log.warning("--max-connections %d leaves fewer than %d of the %d file descriptors"
                    " free: the store or the logs may fail under a flood of connections",
                    requested, api_limits.FD_HEADROOM, soft)  # fmt: skip
    log.info("accepting at most %d connections (file descriptor limit %d)%s", cap, soft,
             "" if requested else f", {api_limits.FD_HEADROOM} kept free")  # fmt: skip
    return cap


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
        self.lingering = 0
        """Refused sockets still open while their request drains; they hold descriptors
        of the headroom, so past ``MAX_LINGERING`` a refusal closes at once."""

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


class _DrainOnClose:
    """The transport as one request's cycle sees it: its ``close`` drains instead while
    the request's body is still arriving; everything else is the transport's."""

    def __init__(self, transport: asyncio.Transport, cycle: Any, drain: Any) -> None:
        self._transport, self._cycle, self._drain = transport, cycle, drain

    def close(self) -> None:
        if self._cycle.more_body:
            self._drain()
        else:
            self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds of ``ConnectionLimits``."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    refusals: ClassVar[_Refusals] = _Refusals()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_bytes = 0
        self._tail = b""  # the last bytes counted, in case "\r\n\r\n" spans two reads
        self._in_headers = True
        self._header_timer: asyncio.TimerHandle | None = None
        self._refused: asyncio.Transport | None = None
        self._drain_left: int | None = None  # bytes still dropped, once draining

    @classmethod
    def with_limits(cls, limits: ConnectionLimits) -> type[BoundedHttpToolsProtocol]:
        """A subclass bound to ``limits``: uvicorn builds protocols from a class."""
        return type(cls.__name__, (cls,), {"limits": limits, "refusals": _Refusals()})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self.refusals.note(self.limits.max_connections)
            self._refused = transport
            refusal = TooManyConnections("too many connections; try again later")
            transport.write(error_bytes(status_of(refusal), refusal.code, refusal.message))
            if self.refusals.lingering >= MAX_LINGERING:
                transport.close()  # a flood: the descriptors matter more than the 503
                return
            # Closing with the request unread would reset the connection before the
            # client reads the 503; read and drop it for a moment instead.
            self.refusals.lingering += 1
            self.loop.call_later(REFUSED_LINGER_S, self._close_refused, transport)
            return
        super().connection_made(transport)
        self._arm_header_timer()

    def _close_refused(self, transport: asyncio.Transport) -> None:
        self.refusals.lingering -= 1
        transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        if self._refused is not None:  # refused in connection_made: nothing was set up
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused is not None:
            return
        if self._drain_left is not None:
            self._drain_left -= len(data)
            if self._drain_left <= 0:
                self.transport.close()
            return
        if self._in_headers:
            if self._header_timer is None:  # the first byte of a keep-alive's next request
                self._arm_header_timer()
            if not self._headers_fit(data):
                message = f"request headers are over {self.limits.max_header_bytes} bytes"
                self._refuse(HeadersTooLarge(message))
                return
        super().data_received(data)

    def _headers_fit(self, data: bytes) -> bool:
        """Counts ``data`` against the header budget. A read may carry the end of the
        headers and then body bytes (a whole small request arrives in one read): it fits
        when the headers end within the budget, whatever follows them."""
        budget = self.limits.max_header_bytes - self._header_bytes
        if len(data) <= budget:
            self._header_bytes += len(data)
            self._tail = (self._tail + data[-3:])[-3:]
            return True
        end = (self._tail + data[: budget + 4]).find(b"\r\n\r\n")
        return end != -1 and end + 4 - len(self._tail) <= budget

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._cancel_header_timer()
        super().on_headers_complete()
        if self.cycle is not None:
            self._linger_if_unread()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # Whatever comes next on this connection is the next request's headers; its
        # timer starts with its first byte (idleness until then is uvicorn's keep-alive).
        self._in_headers, self._header_bytes, self._tail = True, 0, b""

    def _linger_if_unread(self) -> None:
        """Makes an answer sent before the request's body was all read say
        ``connection: close`` and, instead of closing at once, drain (``_drain``)."""
        cycle = self.cycle
        send = cycle.send

        async def closing_send(message: Any) -> None:
            if message["type"] == "http.response.start" and cycle.more_body:
                cycle.keep_alive = False  # uvicorn then writes "connection: close"
            await send(message)

        cycle.send = closing_send  # type: ignore[method-assign]
        cycle.transport = _DrainOnClose(self.transport, cycle, self._drain)  # type: ignore[assignment]

    def _drain(self) -> None:
        """Half-closes after the answer, then drops what the client still sends."""
        if self._drain_left is not None or self.transport.is_closing():
            return
        self._drain_left = DRAIN_BYTES
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the client reads the answer, then end of stream
        self.loop.call_later(DRAIN_S, self.transport.close)
        self.flow.resume_reading()

    def send_400_response(self, msg: str) -> None:
        # uvicorn's own answer is text; a parser error is a malformed request like any.
        self._refuse(InvalidRequest(msg), status=400)

    def _refuse(self, error: LeaseqError, status: int | None = None) -> None:
        self._cancel_header_timer()
        if not self.transport.is_closing():
            code = status or status_of(error)
            self.transport.write(error_bytes(code, error.code, error.message))
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
        self._refuse(HeaderTimeout(message))
