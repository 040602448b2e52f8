"""A lean HTTP/1.1 path for the blocking ``Client``: keep-alive sockets, nothing else.

httpx costs about 450 µs of the caller's CPU per call here (its request and response
models, URL merging, hooks, the pool; ``benchmarks.client_cpu``), and ``http.client``
still parses headers with the ``email`` package and sends head and body in two
syscalls. A producer enqueueing one job at a time, or a script, pays that on every
request, so the blocking client speaks HTTP/1.1 itself when it is given a URL and no
``transport``: the request in one ``sendall``, the answer framed by its Content-Length.
Idle connections wait on a shared stack, so a ``Client`` shared by threads stays safe
(each request holds its connection alone). ``AsyncLeanHttp`` does the same on asyncio
streams for the ``AsyncClient`` (``_unasync`` maps one name to the other).
"""

from __future__ import annotations

import asyncio
import os
import select
import socket
import ssl
from typing import Any
from urllib.parse import urlencode, urlsplit

from leaseq.client.calls import unreachable

_UNSENT = (ConnectionRefusedError, socket.gaierror)
_MAX_HEAD = 64 * 1024
MAX_CONNECTIONS = 100
_PROXIES = ("http_proxy", "https_proxy", "all_proxy")


def _lean_allowed(url: str, transport: object) -> bool:
    """The lean path, unless a transport is given (tests) or a proxy is configured in the
    environment (httpx honours it; this path does not speak to proxies)."""
    if transport is not None or urlsplit(url).scheme not in ("http", "https"):
        return False
    return not any(os.environ.get(k) or os.environ.get(k.upper()) for k in _PROXIES)


class _Head:
    """What every request to one server starts with, and how to write the rest."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.url = url
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        host = self.host if parts.port is None else f"{self.host}:{parts.port}"
        self.fixed = f"Host: {host}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    def request(self, options: dict[str, Any]) -> bytes:
        """``options`` as ``ClientBase._request`` makes them for httpx, as bytes to send."""
        path = self.prefix + options["url"]
        if options["params"]:
            path += "?" + urlencode(options["params"], doseq=True)
        content: bytes = options["content"] or b""
        extra = "".join(f"{k}: {v}\r\n" for k, v in (options["headers"] or {}).items())
        head = (f"{options['method']} {path} HTTP/1.1\r\n{self.fixed}{extra}"
                f"Content-Length: {len(content)}\r\n\r\n")  # fmt: skip
        return head.encode("latin-1") + content


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP/1.1 status line: {lines[0][:100]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


class ProtocolError(OSError):
    """The server's answer is not HTTP/1.1 as this client reads it."""


class _Connection:
    """One keep-alive connection: the request in one ``sendall``, the answer read with
    as few ``recv`` calls as its framing allows (Content-Length, chunked, or to EOF)."""

    def __init__(self, host: str, port: int, https: bool, timeout: float) -> None:
        sock = socket.create_connection((host, port), timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if https:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        self.sock = sock
        self.buffer = b""
        self.reusable = True

    def exchange(self, request: bytes, timeout: float) -> tuple[int, bytes]:
        self.sock.settimeout(timeout)
        self.sock.sendall(request)
        status, headers = _parse_head(self._until(b"\r\n\r\n"))
        self.reusable = headers.get("connection", "").lower() != "close"
        if "content-length" in headers:
            return status, self._exactly(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return status, self._chunked()
        self.reusable = False
        return status, self._to_eof()

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ProtocolError("the server closed the connection")
        return data

    def _until(self, marker: bytes) -> bytes:
        while (end := self.buffer.find(marker)) < 0:
            if len(self.buffer) > _MAX_HEAD:
                raise ProtocolError("the answer's head is too long")
            self.buffer += self._recv()
        head, self.buffer = self.buffer[:end], self.buffer[end + len(marker) :]
        return head

    def _exactly(self, n: int) -> bytes:
        chunks, have = [self.buffer], len(self.buffer)
        while have < n:
            data = self._recv()
            chunks.append(data)
            have += len(data)
        data = b"".join(chunks)
        self.buffer = data[n:]
        return data[:n]

    def _chunked(self) -> bytes:
        body = []
        while size := int(self._until(b"\r\n").split(b";")[0], 16):
            body.append(self._exactly(size))
            self._until(b"\r\n")
        self._until(b"\r\n")  # no trailers are sent by the server
        return b"".join(body)

    def _to_eof(self) -> bytes:
        chunks = [self.buffer]
        while data := self.sock.recv(65536):
            chunks.append(data)
        return b"".join(chunks)

    def alive(self) -> bool:
        """An idle connection the server has not closed (it closes idle keep-alive ones
        after a while; nothing is readable on a live idle one), as httpcore checks."""
        if self.buffer:
            return False
        try:
            return not select.select([self.sock], [], [], 0)[0]
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        self.sock.close()


class LeanHttp:
    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self._head = _Head(url, headers)
        self._idle: list[_Connection] = []  # list.pop/append are atomic

    @classmethod
    def open(cls, url: str, headers: dict[str, str], transport: object) -> LeanHttp | None:
        return cls(url, headers) if _lean_allowed(url, transport) else None

    def request(self, options: dict[str, Any]) -> tuple[int, bytes]:
        """``options`` as ``ClientBase._request`` makes them for httpx; the status and body."""
        conn = self._connection(options["timeout"])
        try:
            status, body = conn.exchange(self._head.request(options), options["timeout"])
        except OSError as exc:
            conn.close()
            raise unreachable(self._head.url, exc, sent=not isinstance(exc, _UNSENT)) from exc
        if conn.reusable:
            self._idle.append(conn)
        else:
            conn.close()
        return status, body

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    def _connection(self, timeout: float) -> _Connection:
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                break
            if conn.alive():
                return conn
            conn.close()
        head = self._head
        try:
            return _Connection(head.host, head.port, head.https, timeout)
        except OSError as exc:
            raise unreachable(head.url, exc, sent=False) from exc


class AsyncLeanHttp:
    """The asyncio twin: the same requests over ``asyncio`` streams, at most
    ``MAX_CONNECTIONS`` at once (httpx's own default). A request cancelled midway (a
    worker's long poll at shutdown) closes its connection, which is how the server
    learns that the poller is gone."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self._head = _Head(url, headers)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def open(cls, url: str, headers: dict[str, str], transport: object) -> AsyncLeanHttp | None:
        return cls(url, headers) if _lean_allowed(url, transport) else None

    async def request(self, options: dict[str, Any]) -> tuple[int, bytes]:
        head = self._head
        if (loop := asyncio.get_running_loop()) is not self._loop:
            # Connections and the semaphore belong to the loop they were made on.
            self._loop, self._idle = loop, []
            self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        async with self._slots:
            reader, writer = await self._connection(options["timeout"])
            try:
                async with asyncio.timeout(options["timeout"]):
                    writer.write(head.request(options))
                    status, body, reusable = await _answer(reader)
            except BaseException as exc:
                writer.close()
                if isinstance(exc, OSError | TimeoutError | asyncio.IncompleteReadError):
                    raise unreachable(head.url, exc, sent=True) from exc
                raise
            if reusable:
                self._idle.append((reader, writer))
            else:
                writer.close()
            return status, body

    async def _connection(
        self, timeout: float
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self._idle:
            reader, writer = self._idle.pop()
            if not (reader.at_eof() or writer.is_closing()):
                return reader, writer
            writer.close()
        head = self._head
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    head.host, head.port, ssl=ssl.create_default_context() if head.https else None
                )
        except (OSError, TimeoutError) as exc:
            raise unreachable(head.url, exc, sent=False) from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop()[1].close()


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the connection may be used again."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as exc:
        raise ProtocolError("the answer's head is too long") from exc
    status, headers = _parse_head(head[:-4])
    reusable = headers.get("connection", "").lower() != "close"
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"])), reusable
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            body.append(await reader.readexactly(size))
            await reader.readuntil(b"\r\n")
        await reader.readuntil(b"\r\n")
        return status, b"".join(body), reusable
    return status, await reader.read(), False
