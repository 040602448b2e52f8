"""Host names and origins as the server compares them; no imports beyond the standard
library, so ``Settings`` can validate its options with the same functions the request
checks use (``sameorigin``)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def is_loopback(host: str) -> bool:
    """``localhost``, ``*.localhost`` (RFC 6761 keeps them on the machine), 127/8, ::1."""
    name = host.lower().rstrip(".").strip("[]")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def origin_key(origin: str) -> tuple[str, int] | None:
    """``scheme://host[:port]`` as (host, port), the port defaulted by the scheme; None
    for anything else. The scheme itself is not compared: behind a proxy that ends TLS
    the page is ``https`` and the server sees ``http`` on the same name."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    return parts.hostname.rstrip("."), port or DEFAULT_PORTS[parts.scheme]
