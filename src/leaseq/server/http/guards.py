"""Per-route guards applied from the route table (authentication by role, the poll rate
limit) and the body size limit every route reads its body through. Kept out of the
handlers so they stay parse-call-serialise."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from leaseq.core.tokens import Role, Token, allows, role_of
from leaseq.errors import PayloadTooLarge
from leaseq.server.http.errors import error_response

Handler = Callable[[Request], Awaitable[Response]]


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with ``PayloadTooLarge`` as soon as it is over ``limit``
    bytes: by its declared length before reading, else while it streams in."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def require(role: Role | None, tokens: tuple[Token, ...], handler: Handler) -> Handler:
    """401 without a valid bearer token, 403 when the token's role may not do this."""
    if not tokens or role is None:
        return handler

    async def guarded(request: Request) -> Response:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        held = role_of(tokens, presented) if scheme.lower() == "bearer" else None
        if held is None:
            response = error_response(401, "unauthorized", "a valid bearer token is required")
            response.headers["WWW-Authenticate"] = 'Bearer realm="leaseq"'
            return response
        if not allows(held, role):
            return error_response(403, "forbidden", f"a {held} token may not do this")
        return await handler(request)

    return guarded


class RateLimiter:
    """Token buckets per client address, bounded in memory: the least
    recently seen clients are forgotten first."""

    def __init__(self, per_second: float, burst: float, max_clients: int = 10_000) -> None:
        self.rate = per_second
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def retry_after(self, key: str, now: float | None = None) -> float:
        """0 when the call may go ahead (and is counted), else seconds to wait."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
        self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


def limit_polls(limiter: RateLimiter | None, handler: Handler) -> Handler:
    if limiter is None:
        return handler

    async def limited(request: Request) -> Response:
        client = request.client.host if request.client else "?"
        wait = limiter.retry_after(client)
        if wait > 0:
            response = error_response(429, "rate_limited", "too many polls; slow down")
            response.headers["Retry-After"] = str(max(1, round(wait)))
            return response
        return await handler(request)

    return limited
