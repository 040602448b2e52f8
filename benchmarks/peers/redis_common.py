"""What the Redis-brokered peers share: the URL, a clean database, the durability note."""

from __future__ import annotations

import os

URL_ENV = "BENCH_REDIS_URL"
DEFAULT_URL = "redis://127.0.0.1:6379/11"
# Said of every Redis peer: true of the Redis this suite runs against (checked at setup).
NOT_DURABLE = "no: Redis here has no persistence"


def url() -> str:
    return os.environ.get(URL_ENV, DEFAULT_URL)


def flush(redis_url: str) -> str:
    """Empties the benchmark's own database; says whether Redis persists anything."""
    import redis  # only the Redis peers need it, and they are an optional extra

    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
        aof = client.config_get("appendonly").get("appendonly", "?")
        save = client.config_get("save").get("save", "?")
    finally:
        client.close()
    return f"appendonly={aof} save={save!r}"
