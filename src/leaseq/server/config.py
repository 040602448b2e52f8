"""One frozen Settings object, built from CLI flags and ``LEASEQ_*`` environment variables.

Typer reads both sources; this module only validates, so every entry point (the CLI, the
tests, an embedding application) gets the same checks and the same messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from leaseq.core import limits
from leaseq.core.names import origin_key
from leaseq.core.tokens import parse_tokens


class Durability(StrEnum):
    FULL = "full"
    """WAL + synchronous=FULL: an answered write survives a power cut."""
    NORMAL = "normal"
    """WAL + synchronous=NORMAL: survives a process crash, may lose the last commits on
    power loss. Never the default."""


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    db: str = "sqlite:///./leaseq.db"
    lease_seconds: float = limits.DEFAULT_LEASE_S
    retry_base: float = 1.0
    retry_cap: float = 3600.0
    reap_interval: float = 1.0
    retention: float = 7 * 24 * 3600.0
    max_body: int = 1024 * 1024
    durability: Durability = Durability.FULL
    log_level: str = "info"
    log_format: LogFormat = LogFormat.TEXT
    tokens: tuple[str, ...] = ()
    """``role:secret`` or bare admin secrets; empty means no authentication."""
    poll_rate: float = 0.0
    """Polls per second allowed per client address (burst of twice that); 0 is no limit."""
    max_queue_depth: int = 0
    """QUEUED jobs a queue may hold before enqueues get 429; 0 is no limit."""
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    max_header_bytes: int = limits.MAX_HEADER_BYTES
    """Request line plus headers of one request; 431 above."""
    header_timeout: float = limits.HEADER_TIMEOUT_S
    """Seconds a connection has to send a request's headers (and a new connection its
    first byte); 408 and closed after it."""
    keep_alive: float = limits.KEEP_ALIVE_S
    """Seconds an idle keep-alive connection stays open."""
    max_connections: int = 0
    """Open client connections at once (503 and closed above); 0 is automatic: the
    file descriptor limit less ``limits.FD_HEADROOM``."""
    allow_origins: tuple[str, ...] = ()
    """Browser origins (``scheme://host[:port]``) accepted besides the server's own."""
    allowed_hosts: tuple[str, ...] = ()
    """Host names the server answers for besides loopback ones; when given, ``Host`` is
    checked on any listening address, not only on loopback."""
    max_answer_bytes: int = limits.DEFAULT_ANSWER_BYTES
    """The byte budget of one answer: a poll stops adding jobs once their payloads and
    last errors would pass it, and a page of ``GET /jobs`` or ``/dead`` (payloads, results and last
    errors) or of a job's events (errors) stops before the row that would, with a
    ``next_cursor`` to go on. Each always answers one job or event, however big."""

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("invalid settings: " + "; ".join(problems))

    def _problems(self) -> list[str]:
        checks = [
            (0 <= self.port <= 65535, "port must be between 0 and 65535"),
            (self.retry_base > 0, "retry_base must be > 0"),
            (self.retry_cap >= self.retry_base, "retry_cap must be >= retry_base"),
            (self.reap_interval > 0, "reap_interval must be > 0"),
            (self.retention >= 0, "retention must be >= 0 (0 keeps jobs forever)"),
            (self.max_body >= 1024, "max_body must be at least 1024 bytes"),
            (self.poll_rate >= 0, "poll_rate must be >= 0"),
            (self.max_queue_depth >= 0, "max_queue_depth must be >= 0"),
            (self.max_header_bytes >= 1024, "max_header_bytes must be at least 1024"),
            (self.header_timeout > 0, "header_timeout must be > 0"),
            (self.keep_alive > 0, "keep_alive must be > 0"),
            (self.max_connections >= 0, "max_connections must be >= 0 (0 is automatic)"),
            (self.max_answer_bytes >= 1024, "max_answer_bytes must be at least 1024 bytes"),
            (
                (self.ssl_certfile is None) == (self.ssl_keyfile is None),
                "ssl_certfile and ssl_keyfile go together",
            ),
            (
                self.db.startswith(("sqlite:///", "postgresql://", "postgres://")),
                "db must be a sqlite:///path or postgresql:// URL",
            ),
        ]
        problems = [message for ok, message in checks if not ok]
        if lease := limits.lease_problem(self.lease_seconds):
            problems.append(lease)
        try:
            parse_tokens(self.tokens)
        except ValueError as exc:
            problems.append(str(exc))
        problems.extend(_origin_problem(o) for o in self.allow_origins if _origin_problem(o))
        problems.extend(
            f"allowed_host {h!r} must be a bare host name" for h in self.allowed_hosts
            if not h or any(c in h for c in "/:*@ ")
        )  # fmt: skip
        return problems

    @property
    def lease_ms(self) -> int:
        return round(self.lease_seconds * 1000)


def _origin_problem(origin: str) -> str:
    if origin == "*":
        return "allow_origin '*' is not allowed: name each origin (scheme://host[:port])"
    if origin_key(origin) is None:
        return f"allow_origin {origin!r} must be scheme://host[:port] (http or https, no path)"
    return ""
