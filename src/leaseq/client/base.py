"""What the sync and async clients share: settings, the retry policy, and turning one
``Call`` into httpx request arguments. Only the ``send`` shells differ in colour."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx
import tenacity

from leaseq.client.calls import Call, unreachable
from leaseq.core.tokens import secret_of
from leaseq.errors import ServerUnavailable

DEFAULT_URL = "http://127.0.0.1:8080"
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Jittered exponential backoff for transport errors and 503s, bounded in time.

    ``max_seconds`` bounds the time spent starting new attempts, so a call gives up after
    at most ``max_seconds`` plus one request timeout. The default rides out a server
    restart and still answers ``ServerUnavailable`` within about 3 s when the server is
    down, so a producer finds out while its own caller still waits; pass
    ``RetryPolicy(max_seconds=60)`` (to ``Client``, ``AsyncClient`` or ``App``) to wait
    longer.
    """

    max_seconds: float = 3.0
    initial: float = 0.05
    max_backoff: float = 2.0

    def retryable(self, call: Call[Any], exc: BaseException) -> bool:
        # An unsent request (connection refused) is safe to repeat whatever it does.
        if self.max_seconds <= 0 or not isinstance(exc, ServerUnavailable):
            return False
        return call.safe or not getattr(exc, "request_sent", True)

    def options(self, call: Call[Any]) -> dict[str, Any]:
        return {
            "stop": tenacity.stop_before_delay(self.max_seconds),
            "wait": tenacity.wait_random_exponential(multiplier=self.initial, max=self.max_backoff),
            "retry": tenacity.retry_if_exception(lambda exc: self.retryable(call, exc)),
            "reraise": True,
        }


NO_RETRY = RetryPolicy(max_seconds=0)


class ClientBase:
    """Settings common to both clients; ``LEASEQ_URL`` and ``LEASEQ_TOKEN`` are the
    defaults so the same program runs against any deployment without code changes."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.url = (url or os.environ.get("LEASEQ_URL") or DEFAULT_URL).rstrip("/")
        token = token if token is not None else os.environ.get("LEASEQ_TOKEN") or None
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        # The same LEASEQ_TOKEN may configure a server ("worker:secret"): send the secret.
        self._headers = {"Authorization": f"Bearer {secret_of(token)}"} if token else {}

    def _http_options(self) -> dict[str, Any]:
        return {"base_url": self.url, "headers": self._headers, "timeout": self.timeout}

    def _request(self, call: Call[Any]) -> dict[str, Any]:
        content = call.content()
        return {
            "method": call.method,
            "url": call.path,
            "content": content,
            "params": call.params or None,
            "headers": {"Content-Type": "application/json"} if content is not None else None,
            "timeout": self.timeout + call.extra_timeout,
        }

    def _unreachable(self, exc: httpx.TransportError) -> ServerUnavailable:
        return unreachable(self.url, exc, sent=not isinstance(exc, _UNSENT))
