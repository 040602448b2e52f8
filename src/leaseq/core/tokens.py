"""Bearer tokens with roles, shared by the server (which checks) and the client (which
sends). A token is configured as ``role:secret`` or a bare ``secret``, which is an admin
token. Several may be given (``--token`` repeated, or comma-separated in ``LEASEQ_TOKEN``),
so producers, workers and operators can hold different secrets.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    READ = "read"
    """GET endpoints and metrics: every valid token may read."""
    PRODUCER = "producer"
    """Enqueue."""
    WORKER = "worker"
    """Poll, ack, fail, heartbeat, release."""
    ADMIN = "admin"
    """Everything, including requeue and cancel."""


@dataclass(frozen=True, slots=True)
class Token:
    role: Role
    secret: str


def parse_tokens(entries: Iterable[str]) -> tuple[Token, ...]:
    """``["worker:abc,producer:def", "xyz"]`` -> worker abc, producer def, admin xyz."""
    tokens = []
    for entry in entries:
        for item in entry.split(","):
            item = item.strip()
            if item:
                tokens.append(_parse_one(item))
    return tuple(tokens)


def _parse_one(item: str) -> Token:
    prefix, sep, rest = item.partition(":")
    if sep and prefix in Role.__members__.values():
        if not rest:
            raise ValueError(f"token for role {prefix!r} is empty")
        return Token(Role(prefix), rest)
    return Token(Role.ADMIN, item)


def secret_of(configured: str) -> str:
    """What a client sends for a configured token: the secret without its role."""
    return _parse_one(configured).secret


def role_of(tokens: Iterable[Token], presented: str) -> Role | None:
    """The role of the presented secret, comparing every token in constant time so the
    answer's timing does not reveal which prefix matched."""
    found: Role | None = None
    for token in tokens:
        if hmac.compare_digest(token.secret.encode(), presented.encode()):
            found = token.role
    return found


def allows(held: Role, needed: Role) -> bool:
    return held is Role.ADMIN or needed is Role.READ or held is needed
