"""A lean HTTP/1.1 path for the blocking ``Client``: keep-alive sockets, nothing else.

httpx costs about 450 µs of the caller's CPU per call here (its request and response
models, URL merging, hooks, the pool; ``benchmarks.client_cpu``), and ``http.client``
still parses headers with the ``email`` package and sends head and body in two
syscalls. A producer enqueueing one job at a time, or a script, pays that on every
request, so the blocking client speaks HTTP/1.1 itself when it is given a URL and no
``transport``: the request in one ``sendall``, the answer framed by its Content-Length.
Idle connections wait on a shared stack, so a ``Client`` shared by threads stays safe
(each request holds its connection alone). ``AsyncLeanHttp`` is its
asyncio twin's name (``_unasync`` maps one to the other); it has no lean path yet, so the
``AsyncClient`` keeps httpx.
"""

from __future__ import annotations

import select
import socket
import ssl
from typing import Any
from urllib.parse import urlencode, urlsplit

from leaseq.client.calls import unreachable
from leaseq.errors import ServerUnavailable

_UNSENT = (ConnectionRefusedError, socket.gaierror)
_MAX_HEAD = 64 * 1024


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
        head = self._until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP/1.1 status line: {lines[0][:100]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.reusable = headers.get("connection", "").lower() != "close"
        if "content-length" in headers:
            return int(parts[1]), self._exactly(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return int(parts[1]), self._chunked()
        self.reusable = False
        return int(parts[1]), self._to_eof()

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
        parts = urlsplit(url)
        self._url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        host = self._host if parts.port is None else f"{self._host}:{parts.port}"
        self._fixed = f"Host: {host}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._idle: list[_Connection] = []  # list.pop/append are atomic

    @classmethod
    def open(cls, url: str, headers: dict[str, str], transport: object) -> LeanHttp | None:
        """The lean path, unless a transport is given (tests, proxies: then httpx)."""
        if transport is not None or urlsplit(url).scheme not in ("http", "https"):
            return None
        return cls(url, headers)

    def request(self, options: dict[str, Any]) -> tuple[int, bytes]:
        """``options`` as ``ClientBase._request`` makes them for httpx; the status and body."""
        path = self._prefix + options["url"]
        if options["params"]:
            path += "?" + urlencode(options["params"], doseq=True)
        content: bytes = options["content"] or b""
        extra = "".join(f"{k}: {v}\r\n" for k, v in (options["headers"] or {}).items())
        head = (f"{options['method']} {path} HTTP/1.1\r\n{self._fixed}{extra}"
                f"Content-Length: {len(content)}\r\n\r\n")  # fmt: skip
        conn = self._connection(options["timeout"])
        try:
            status, body = conn.exchange(head.encode("latin-1") + content, options["timeout"])
        except OSError as exc:
            conn.close()
            raise self._error(exc) from exc
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
        try:
            return _Connection(self._host, self._port, self._https, timeout)
        except OSError as exc:
            raise unreachable(self._url, exc, sent=False) from exc

    def _error(self, exc: Exception) -> ServerUnavailable:
        return unreachable(self._url, exc, sent=not isinstance(exc, _UNSENT))


class AsyncLeanHttp:
    """No lean asyncio path: ``open`` says so, and the ``AsyncClient`` uses httpx."""

    @classmethod
    def open(cls, url: str, headers: dict[str, str], transport: object) -> AsyncLeanHttp | None:
        return None

    async def request(self, options: dict[str, Any]) -> tuple[int, bytes]:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None
